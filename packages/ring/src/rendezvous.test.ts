import { owners } from './rendezvous.js';

test('rendezvous sharding is stable and moves only what the new member wins', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `01HZZ${String(i).padStart(21, '0')}`);
  const before = ids.map((id) => owners(id, ['a', 'b', 'c'], 1)[0]);
  const after = ids.map((id) => owners(id, ['a', 'b', 'c', 'd'], 1)[0]);
  const moved = ids.filter((_, i) => before[i] !== after[i]);
  expect(moved.every((_, i) => after[ids.indexOf(moved[i])] === 'd')).toBe(true);
  expect(moved.length / ids.length).toBeGreaterThan(0.15);
  expect(moved.length / ids.length).toBeLessThan(0.35);
  expect(ids.every((id) => new Set(owners(id, ['a', 'b', 'c'], 3)).size === 3)).toBe(true);
});
