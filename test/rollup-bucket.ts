/**
 * A local-folder bucket downsampled by real `strata compactor --compactor.run-once` passes: what
 * the end-to-end tests of queries over rollups start from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, STRATA_BIN, tempDir } from './harness.js';

/** A FILESYSTEM bucket in a fresh folder with an (empty) folder for `tenant`, and its objstore config file. */
export function folderBucket(name: string, tenant: string): { tenantDir: string; objstore: string } {
  const root = tempDir(name);
  const bucketDir = path.join(root, 'bucket');
  const tenantDir = path.join(bucketDir, tenant);
  fs.mkdirSync(tenantDir, { recursive: true });
  const objstore = path.join(root, 'objstore.yml');
  fs.writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  return { tenantDir, objstore };
}

/** Resolutions of the tenant's complete blocks not marked for deletion. */
export function liveResolutions(tenantDir: string): number[] {
  return fs
    .readdirSync(tenantDir)
    .filter((u) => fs.existsSync(path.join(tenantDir, u, 'meta.json')) && !fs.existsSync(path.join(tenantDir, u, 'deletion-mark.json')))
    .map((u) => JSON.parse(fs.readFileSync(path.join(tenantDir, u, 'meta.json'), 'utf8')).thanos?.downsample?.resolution ?? 0);
}

function compactOnce(objstore: string, dataDir: string, flags: readonly string[]): Promise<number | null> {
  const p = startProcess(process.execPath, [
    STRATA_BIN,
    'compactor',
    `--objstore.config-file=${objstore}`,
    `--storage.path=${dataDir}`,
    '--compactor.run-once',
    '--compactor.deletion-delay=0s',
    '--log.level=warn',
    ...flags,
  ]);
  return p.exited.then(() => p.child.exitCode);
}

/**
 * Compactor passes (each compacts and downsamples one level further: a new rollup is met at the
 * next pass) until 1h rollups exist, at most five; throws if a pass fails. Returns the live
 * blocks' resolutions.
 */
export async function downsampleBucket(objstore: string, tenantDir: string, flags: readonly string[]): Promise<Set<number>> {
  const work = tempDir('rollup-bucket-compactor');
  for (let pass = 0; pass < 5 && !liveResolutions(tenantDir).includes(3600_000); pass++) {
    const code = await compactOnce(objstore, work, flags);
    if (code !== 0) throw new Error(`compactor pass ${pass} exited with ${code}`);
  }
  return new Set(liveResolutions(tenantDir));
}
