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

/** The pid of the memcached answering on the port (its `stats`), or undefined when none answers. */
function pidOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const s = net.connect(port, '127.0.0.1', () => s.write('stats\r\n'));
    s.setTimeout(2_000, () => s.destroy());
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('END\r\n') || text.includes('ERROR')) s.end();
    });
    s.once('error', () => resolve(undefined));
    s.once('close', () => {
      const m = /STAT pid (\d+)/.exec(text);
      resolve(m ? Number(m[1]) : undefined);
    });
  });
}

/**
 * Starts memcached on `port` (a free one when unset). A free port can be taken by another test's
 * server between the check and memcached's bind; whatever answers there must be this memcached
 * (its stats name its pid), or the tests would stop and kill another one. On a free port taken
 * meanwhile, another port is tried.
 */
export async function startMemcached(port?: number): Promise<Memcached> {
  for (let attempt = 0; ; attempt++) {
    const p = port ?? (await freePort());
    const started = await startOn(p);
    if (started) return started;
    if (port !== undefined || attempt >= 4) throw new Error(`memcached did not start on port ${p}`);
  }
}

async function startOn(p: number): Promise<Memcached | undefined> {
  // memcached refuses to run as root unless told which user to be.
  const user = process.getuid?.() === 0 ? ['-u', os.userInfo().username] : [];
  const child = spawn('memcached', ['-l', '127.0.0.1', '-p', String(p), '-U', '0', '-m', '64', ...user], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pid = await pidOn(p);
    if (pid === child.pid) break;
    if (Date.now() > deadline || child.exitCode !== null || (pid !== undefined && Date.now() > deadline - 8_000)) {
      await stop();
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port: p, address: `127.0.0.1:${p}`, child, stop };
}
