/**
 * `strata tools cardinality --url=URL --tenant=T [--limit=10] [--window=1h] [--tenant-header=X-Scope-OrgID]`:
 * a tenant's top metrics, labels and growth from a running querier (cluster-wide) or receiver.
 */
import { cardinalityReport } from '@strata/api';

const USAGE = 'Usage: strata tools cardinality --url=URL --tenant=T [--limit=10] [--window=1h] [--tenant-header=X-Scope-OrgID]\n';

export async function runCardinalityTool(args: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const flags = new Map<string, string>();
  for (const a of args) {
    const m = /^--(url|tenant|limit|window|tenant-header)=(.*)$/.exec(a);
    if (!m) {
      err(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
    flags.set(m[1], m[2]);
  }
  const url = flags.get('url');
  const limit = Number(flags.get('limit') ?? '10');
  if (!url || !Number.isInteger(limit) || limit < 1) {
    err(USAGE);
    return 2;
  }
  try {
    out(
      await cardinalityReport({
        url,
        tenant: flags.get('tenant') ?? 'anonymous',
        tenantHeader: flags.get('tenant-header') ?? 'X-Scope-OrgID',
        limit,
        window: flags.get('window') ?? '1h',
        timeoutMs: 60_000,
      }),
    );
    return 0;
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 1;
  }
}
