/** Every fuzz target, by name; each package keeps its own next to its tests. */
import { PROMQL_TARGETS } from '../../packages/promql/test/fuzz-targets.js';
import { REMOTE_TARGETS } from '../../packages/remote/test/fuzz-targets.js';
import { RING_TARGETS } from '../../packages/ring/test/fuzz-targets.js';
import { TSDB_TARGETS } from '../../packages/tsdb/test/fuzz-targets.js';
import type { FuzzTarget } from './target.js';

export const TARGETS: FuzzTarget[] = [...REMOTE_TARGETS, ...PROMQL_TARGETS, ...RING_TARGETS, ...TSDB_TARGETS];
