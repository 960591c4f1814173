import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface Dockerd {
  /** DOCKER_HOST for clients: `unix://<dir>/docker.sock`. */
  host: string;
  /** The environment a docker CLI needs to reach this daemon (and nothing else). */
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's dockerd (docker.io 20.10) in a folder of the test, as DESIGN.md describes:
 * data, exec root, pid file and socket inside it, vfs storage, no iptables, no bridge. Waits
 * until `docker version` answers. Stopped by its PID (SIGTERM, then SIGKILL), the folder
 * removed. Throws if it does not come up within `timeoutMs`, with the end of its log.
 */
export async function startDockerd(parent: string, timeoutMs = 60_000): Promise<Dockerd> {
  // Sockets paths are limited to 108 bytes: keep the folder short.
  const dir = await mkdtemp(join(parent.length > 60 ? '/tmp' : parent, 'dk-'));
  const logPath = join(dir, 'dockerd.log');
  const log = await open(logPath, 'w');
  const host = `unix://${join(dir, 'docker.sock')}`;
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'dockerd.pid'),
      '--host', host,
      '--storage-driver', 'vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
    ],
    { stdio: ['ignore', log.fd, log.fd], detached: false },
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, 'config') };
  let exited = false;
  child.on('exit', () => (exited = true));

  const stop = async () => {
    if (!exited && child.pid !== undefined) {
      const gone = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    }
    await log.close().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) =>
      execFile('docker', ['version', '--format', '{{.Server.Version}}'], { env, timeout: 5000 }, (err) => done(!err)),
    );
    if (ok) return { host, env, dir, stop };
    if (exited || Date.now() > deadline) {
      const { readFile } = await import('node:fs/promises');
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      await stop();
      throw new Error(`dockerd did not come up (${exited ? 'it exited' : 'timed out'}):\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
