/** A JSON-aware mutation: parse, replace one node of the tree by another kind of value, print. */
import type { Rng } from './mutate.js';

// 1e309 is Infinity on purpose: JSON.stringify turns it into null.
// eslint-disable-next-line no-loss-of-precision
const ODD = [null, true, 0, -1, 1e309, '', 'x', '*', [], {}, [null], { address: null }, 'a'.repeat(300)];

export function mutateJson(rng: Rng, input: Buffer): Buffer | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(input.toString('utf8'));
  } catch {
    return undefined;
  }
  const slots: { parent: Record<string | number, unknown>; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      const key = Array.isArray(v) ? Number(k) : k;
      slots.push({ parent: v as Record<string | number, unknown>, key });
      walk((v as Record<string, unknown>)[k]);
    }
  };
  walk(doc);
  if (slots.length === 0) return Buffer.from(JSON.stringify(rng.pick(ODD)));
  const { parent, key } = rng.pick(slots);
  switch (rng.int(4)) {
    case 0:
      parent[key] = structuredClone(rng.pick(ODD));
      break;
    case 1:
      delete parent[key];
      break;
    case 2: // the same value under another slot's place: keys and kinds mixed up
      parent[key] = structuredClone(rng.pick(slots).parent);
      break;
    default:
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
      else parent[`${String(key)}${rng.int(3)}`] = parent[key];
  }
  return Buffer.from(JSON.stringify(doc));
}
