export type { LogDirection, LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from './types.js';
