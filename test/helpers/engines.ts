/**
 * Real container engines for tests, each confined to a temporary folder of its own:
 *
 * - podman 4.3 with vfs storage (`--root`, `--runroot`, `--tmpdir` in the folder, file events,
 *   cgroupfs); containers run with runc and fixed ulimits, since crun cannot set rlimits here.
 * - Debian's dockerd 20.10 started with its data root, exec root, pid file and socket in the
 *   folder, vfs storage, no iptables and no bridge; stopped by its PID.
 *
 * `engineMissing(...)` says which binary is absent, so a test can skip with a message (CI
 * installs docker.io, podman and runc: see .ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './tools.js';

/** The first of `commands` not on PATH, or undefined when all are there. */
export async function engineMissing(...commands: string[]): Promise<string | undefined> {
  for (const c of commands) {
    const found = await run('sh', ['-c', `command -v ${c} || true`]);
    if (found.trim() === '') return c;
  }
  return undefined;
}

export interface Podman {
  /** Runs podman on this store; resolves to its stdout, rejects with its stderr. */
  podman(args: string[]): Promise<string>;
  /** `podman run --rm` of `image` with runc and no network; resolves to its stdout. */
  runImage(image: string): Promise<string>;
  remove(): Promise<void>;
}

/** A podman image store of its own in a temporary folder. */
export async function podmanStore(): Promise<Podman> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-podman-'));
  await mkdir(join(dir, 'tmp'));
  const global = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs'];
  const podman = (args: string[]) => run('podman', [...global, ...args]);
  return {
    podman,
    runImage: (image) => podman(['run', '--rm', '--runtime', 'runc', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000', image]),
    // podman's helpers may still be closing files in it for a moment.
    remove: () => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }),
  };
}

export interface Dockerd {
  /** Runs the docker CLI against this daemon; resolves to its stdout. */
  docker(args: string[]): Promise<string>;
  /** Stops the daemon (SIGTERM to its PID, SIGKILL after 30 s) and removes its folder. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a dockerd of its own; resolves once it answers on its socket. */
export async function startDockerd(): Promise<Dockerd> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-dockerd-'));
  const sock = `unix://${join(dir, 'docker.sock')}`;
  const child = spawn(
    'dockerd',
    ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'), '--host', sock, '--storage-driver', 'vfs', '--iptables=false', '--bridge=none'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString('utf8')).slice(-4000);
  });
  const docker = (args: string[]) => run('docker', ['-H', sock, ...args]);
  const stop = async () => {
    if (!(await exited(child, 0))) {
      child.kill('SIGTERM');
      if (!(await exited(child, 30_000))) {
        child.kill('SIGKILL');
        await exited(child, 10_000);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  // A loaded machine starts it slowly: up to 90 s.
  for (let i = 0; ; i++) {
    try {
      await docker(['version', '--format', '{{.Server.Version}}']);
      return { docker, stop };
    } catch (err) {
      if (child.exitCode !== null || i >= 180) {
        await stop();
        throw new Error(`dockerd did not start: ${(err as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
