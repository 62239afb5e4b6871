/** Strata refuses to start with a security configuration Prometheus would refuse, or a ring that could not authenticate its forwarding. */
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, STRATA_BIN, tempDir } from './harness.js';

jest.setTimeout(60_000);

async function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = startProcess(process.execPath, [STRATA_BIN, ...args, '--http.address=127.0.0.1:0', `--storage.path=${tempDir('refusal')}`]);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
  const { code } = await p.exited;
  clearTimeout(t);
  return { code, output: p.output() };
}

const dir = tempDir('refusals');
const file = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};

test.each([
  [
    'a web config with a clear-text password',
    ['all', `--web.config.file=${file('web-clear.yml', 'basic_auth_users:\n  alice: s3cret\n')}`],
    /--web.config.file .*: basic_auth_users.alice: not a bcrypt hash/,
  ],
  [
    'a web config with a key but no certificate',
    ['querier', `--web.config.file=${file('web-nocert.yml', 'tls_server_config:\n  key_file: x.key\n')}`],
    /missing one of cert or cert_file/,
  ],
  [
    'a client config with basic_auth and authorization',
    [
      'querier',
      `--querier.store-client-config-file=${file('client.yml', 'basic_auth: { username: a, password: b }\nauthorization: { credentials: c }\n')}`,
    ],
    /at most one of basic_auth, oauth2, bearer_token & bearer_token_file/,
  ],
  [
    'a ring without a forwarding secret',
    ['receiver', `--receiver.hashrings-file=${file('hashrings.json', '[{"endpoints":["127.0.0.1:1"]}]')}`],
    /--receiver.hashrings-file needs --receiver.forward-secret-file/,
  ],
  [
    "a ring given with Thanos' flag name (an alias) without a forwarding secret",
    ['receiver', `--receive.hashrings-file=${file('hashrings.json', '[{"endpoints":["127.0.0.1:1"]}]')}`],
    /--receiver.hashrings-file needs --receiver.forward-secret-file/,
  ],
  [
    'a forwarding secret too short to resist guessing',
    ['receiver', `--receiver.forward-secret-file=${file('short-secret', 'abc\n')}`],
    /at least 16 bytes/,
  ],
])('%s: exit code 2 and the reason', async (_name, args, reason) => {
  const r = await run(args);
  expect({ code: r.code, output: r.output }).toEqual({ code: 2, output: expect.stringMatching(reason) });
});
