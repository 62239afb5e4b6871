/** A real memcached (Debian's) on a free loopback port, for the cache tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Memcached {
  port: number;
  address: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startMemcached(port?: number): Promise<Memcached> {
  const p = port ?? (await freePort());
  // memcached refuses to run as root unless told which user to be.
  const user = process.getuid?.() === 0 ? ['-u', os.userInfo().username] : [];
  const child = spawn('memcached', ['-l', '127.0.0.1', '-p', String(p), '-U', '0', '-m', '64', ...user], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(p, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`memcached did not start on port ${p}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: p,
    address: `127.0.0.1:${p}`,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
