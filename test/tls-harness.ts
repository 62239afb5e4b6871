/** Strata processes behind --web.config.file (TLS, client certificates, basic auth) for end-to-end tests. */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import type { Pki } from '../packages/api/test/tls-fixtures.js';
import { freePort, startProcess, STRATA_BIN, tempDir, waitFor, type Proc } from './harness.js';

export interface Credentials {
  user: string;
  password: string;
}

export interface SecureStrata extends Proc {
  url: string;
  port: number;
  dataDir: string;
}

export interface Reply {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** A request as an authorised client: the CA's client certificate and the password. */
export function secureRequest(
  url: string,
  pki: Pki,
  creds: Credentials | undefined,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (creds) headers.Authorization = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        agent: false,
        ca: fs.readFileSync(pki.caCert),
        cert: fs.readFileSync(pki.clientCert),
        key: fs.readFileSync(pki.clientKey),
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * A web config requiring a client certificate from the test CA and the given user's password,
 * written to `dir`; returns its path.
 */
export function writeWebConfig(dir: string, pki: Pki, creds: Credentials, extra = ''): string {
  const file = path.join(dir, 'web.yml');
  fs.writeFileSync(
    file,
    [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      `  client_ca_file: ${pki.caCert}`,
      'basic_auth_users:',
      `  ${creds.user}: ${bcrypt.hashSync(creds.password, 10)}`,
    ].join('\n') +
      '\n' +
      extra,
  );
  return file;
}

/** Like harness.startStrata, with --web.config.file and readiness checked over TLS. */
export async function startSecureStrata(opts: {
  component?: string;
  port?: number;
  args?: string[];
  webConfig: string;
  pki: Pki;
  creds: Credentials;
  dataDir?: string;
}): Promise<SecureStrata> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? tempDir('data');
  const p = startProcess(process.execPath, [
    STRATA_BIN,
    opts.component ?? 'all',
    `--http.address=127.0.0.1:${port}`,
    `--storage.path=${dataDir}`,
    `--web.config.file=${opts.webConfig}`,
    '--log.level=warn',
    ...(opts.args ?? []),
  ]);
  const url = `https://127.0.0.1:${port}`;
  try {
    await waitFor(
      'strata ready over TLS',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`strata exited: ${p.output()}`);
        return (await secureRequest(`${url}/-/ready`, opts.pki, opts.creds)).status === 200;
      },
      60_000,
    );
  } catch (e) {
    p.child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n--- strata output ---\n${p.output()}`, { cause: e });
  }
  return { ...p, url, port, dataDir };
}
