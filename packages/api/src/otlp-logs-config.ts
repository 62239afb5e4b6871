/**
 * A tenant's mapping of OTLP log attributes to Loki's data model (limits key `otlp_config`,
 * Loki's per-tenant setting and shape):
 *
 *   otlp_config:
 *     resource_attributes:
 *       ignore_defaults: false        # true: the default index-label list no longer applies
 *       attributes_config:
 *         - action: index_label        # index_label, structured_metadata or drop
 *           attributes: [service.group]
 *         - action: drop
 *           regex: k8s\.pod\..*        # RE2, fully anchored, matched against the attribute name
 *     scope_attributes:               # structured_metadata or drop
 *       - action: drop
 *         attributes: [method.name]
 *     log_attributes:                 # structured_metadata or drop
 *       - action: structured_metadata
 *         attributes: [user.id]
 *       - action: drop
 *         regex: .*
 *
 * The first rule that names an attribute (in `attributes`, or by `regex`) decides; an attribute
 * no rule names takes the default mapping (a resource attribute of the default list becomes an
 * index label, unless `ignore_defaults`; everything else is structured metadata).
 */
import { compileRegex, type CompiledRegex } from '@strata/model';

export type OtlpAttributeAction = 'index_label' | 'structured_metadata' | 'drop';

export interface OtlpAttributeRule {
  action: OtlpAttributeAction;
  names?: ReadonlySet<string>;
  regex?: CompiledRegex;
}

export interface OtlpLogsConfig {
  ignoreDefaults: boolean;
  resource: readonly OtlpAttributeRule[];
  scope: readonly OtlpAttributeRule[];
  log: readonly OtlpAttributeRule[];
  /** The configuration as written, for the limits API. */
  source: unknown;
}

/** The action of the first rule naming `name`, or undefined when none does. */
export function otlpAttributeAction(rules: readonly OtlpAttributeRule[], name: string): OtlpAttributeAction | undefined {
  for (const r of rules) if (r.names?.has(name) || r.regex?.test(name)) return r.action;
  return undefined;
}

const ACTIONS: readonly OtlpAttributeAction[] = ['index_label', 'structured_metadata', 'drop'];

function mapping(v: unknown, where: string, fields: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected a mapping (${fields.join(', ')})`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!fields.includes(k)) throw new Error(`${where}: unknown field ${JSON.stringify(k)} (${fields.join(', ')})`);
  return o;
}

function rules(v: unknown, where: string, allowIndex: boolean): OtlpAttributeRule[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${where} must be a list of attribute rules`);
  return v.map((r: unknown, i): OtlpAttributeRule => {
    const at = `${where}[${i}]`;
    const o = mapping(r, at, ['action', 'attributes', 'regex']);
    const action = o.action as OtlpAttributeAction;
    const allowed = allowIndex ? ACTIONS : ACTIONS.filter((a) => a !== 'index_label');
    if (!allowed.includes(action)) throw new Error(`${at}.action must be one of ${allowed.join(', ')}, got ${JSON.stringify(o.action)}`);
    if (o.attributes === undefined && o.regex === undefined) throw new Error(`${at}: needs attributes or a regex`);
    const out: OtlpAttributeRule = { action };
    if (o.attributes !== undefined) {
      if (!Array.isArray(o.attributes) || o.attributes.some((a) => typeof a !== 'string'))
        throw new Error(`${at}.attributes must be a list of attribute names`);
      out.names = new Set(o.attributes as string[]);
    }
    if (o.regex !== undefined) {
      try {
        out.regex = compileRegex(String(o.regex));
      } catch (e) {
        throw new Error(`${at}.regex: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  });
}

export function parseOtlpLogsConfig(v: unknown, where: string): OtlpLogsConfig {
  const o = mapping(v, where, ['resource_attributes', 'scope_attributes', 'log_attributes']);
  const res =
    o.resource_attributes === undefined || o.resource_attributes === null
      ? {}
      : mapping(o.resource_attributes, `${where}.resource_attributes`, ['ignore_defaults', 'attributes_config']);
  if (res.ignore_defaults !== undefined && typeof res.ignore_defaults !== 'boolean')
    throw new Error(`${where}.resource_attributes.ignore_defaults must be true or false`);
  return {
    ignoreDefaults: res.ignore_defaults === true,
    resource: rules(res.attributes_config, `${where}.resource_attributes.attributes_config`, true),
    scope: rules(o.scope_attributes, `${where}.scope_attributes`, false),
    log: rules(o.log_attributes, `${where}.log_attributes`, false),
    source: v,
  };
}
