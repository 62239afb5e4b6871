/**
 * Tenant IDs, as Mimir and Cortex restrict them. A tenant ID becomes a folder name under the WAL
 * directory and a prefix in the bucket, so the rules are also what keeps one tenant's files out
 * of another's: only ASCII letters, digits and `!-_.*'()` (no `/`, `\`, `%`, NUL, spaces or any
 * non-ASCII look-alike of a separator), at most 150 characters, never `.` or `..`, and never a
 * name Mimir reserves for itself.
 */
import { StrataError } from './errors.js';

export const MAX_TENANT_ID_LENGTH = 150;

/** Mimir keeps this name for its own cluster-wide objects in the bucket. */
const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set(['__mimir_cluster']);

const TENANT_ID_CHARS = /^[A-Za-z0-9!\-_.*'()]+$/;

/** Why `id` is not a valid tenant ID, or undefined when it is. */
export function tenantIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_TENANT_ID_LENGTH) return `it is longer than ${MAX_TENANT_ID_LENGTH} characters`;
  if (!TENANT_ID_CHARS.test(id)) return `use only the characters [a-zA-Z0-9!-_.*'()]`;
  if (id === '.' || id === '..') return 'it names a directory';
  if (RESERVED_TENANT_IDS.has(id)) return 'it is reserved';
  return undefined;
}

/** Throws `invalid-tenant` (400) unless `id` is a valid tenant ID; returns it otherwise. */
export function checkTenantId(id: string): string {
  const problem = tenantIdProblem(id);
  if (problem !== undefined)
    throw new StrataError(
      'invalid-tenant',
      `tenant ID ${JSON.stringify(id.length > 200 ? id.slice(0, 200) + '…' : id)} is invalid: ${problem}`,
    );
  return id;
}
