/** docs/configuration.md, generated from OPTIONS so the reference never drifts from the code. */
import { COMPONENTS, OPTIONS } from './options.js';
import { yamlPath } from './config.js';

export function configReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from packages/cli/src/options.ts by `npm run docs`; a test keeps it in sync. -->',
    '',
    'Strata reads one YAML file (`--config.file`); every key is also a command-line flag, and flags',
    'override the file. The flag `--a.b-c` is the YAML key `a: { b_c: ... }`.',
    '',
    'The prefix names what an option configures: a component (`receiver.`, `store-gateway.`, `querier.`)',
    'for its own settings, or a part that several components share or that stands on its own: the',
    'process (`config.`, `http.`, `web.`, `log.`), storage (`storage.`, `objstore.`, `wal.`, `tsdb.`),',
    'tenancy (`auth.`, and `limits.` for the per-tenant limits, named as the keys of the `--limits.file`',
    'overrides) and querying (`query.`, named as in Prometheus).',
    '',
    'The names Thanos, Mimir and earlier Strata releases use are accepted as aliases, as flags and as',
    'YAML keys alike (`--receive.hashrings-file`, or `receive: { hashrings_file: ... }`). Giving an',
    'option under two of its names in the same place (two flags, or two keys of the file) is refused;',
    'a flag still overrides the file whichever name each uses.',
    '',
    '## Components',
    '',
    '| component | what it runs |',
    '| --- | --- |',
    ...Object.entries(COMPONENTS).map(([c, d]) => `| \`${c}\` | ${d} |`),
    '',
    '## Options',
    '',
    '| flag | YAML key | aliases | type | default | description |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const o of OPTIONS) {
    const type = o.values ? o.values.join(' \\| ') : o.type;
    const def = o.default === '' ? '' : `\`${String(o.default)}\``;
    const aliases = (o.aliases ?? []).map((a) => `\`--${a}\``).join('<br>');
    lines.push(`| \`--${o.flag}\` | \`${yamlPath(o.flag).join('.')}\` | ${aliases} | ${type} | ${def} | ${o.help} |`);
  }
  return lines.join('\n') + '\n';
}
