/**
 * berth's rules with a real HTTP remote cache: Debian's nginx with its WebDAV methods on
 * 127.0.0.1, started by the test from a config it writes, stopped by its PID. Three Bazel
 * output roots (three machines, as far as Bazel can tell) build the same stamped
 * //build:server-images: the first fills the cache; one with another PATH gets every action
 * from it; one under another host name (`unshare --uts`, so BUILD_HOST in stable-status.txt
 * differs) misses only the small actions that extract the status keys, and its stamped
 * tarballs are byte for byte the first's.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BAZEL, BERTH_WORKSPACE_FILES, bazelWorkspace, parseExecLog, type BazelResult, type BazelWorkspace, type Spawn } from '../../helpers/bazel.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { freePort } from '../../helpers/registry.js';

const ENV = { DOCKER_REGISTRY: 'ghcr.io/acme', DOCKER_TAG: 'v1.2.3' };
const FLAGS = ['--color=no', '--curses=no', '--spawn_strategy=sandboxed', '--nosandbox_debug', '--jobs=2', '--stamp'];

let ws: BazelWorkspace;
let nginx: ChildProcess | undefined;
let cacheUrl: string;
const roots: string[] = [];

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'lean', 'berth.cjs'))) throw new Error('dist/lean/berth.cjs is missing: run npm run build first');
  ws = await bazelWorkspace({ copy: BERTH_WORKSPACE_FILES });
  const dir = join(ws.tmp, 'nginx');
  await mkdir(join(dir, 'cache'), { recursive: true });
  const port = await freePort();
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
${process.getuid?.() === 0 ? 'user root root; # else the workers are nobody, who cannot enter the temporary folder\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/cache;
    client_max_body_size 0;
    location / {
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
    }
  }
}
`,
  );
  nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  cacheUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${cacheUrl}/ac/none`).then(() => true, () => false);
    if (up) break;
    if (i > 100) throw new Error(`nginx did not start on ${cacheUrl}: ${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  for (const root of roots) await bazelIn(root, ['shutdown']);
  if (nginx?.pid) process.kill(nginx.pid, 'SIGTERM');
  await ws?.close();
});

/** Bazel with its own output root (a machine of its own), optionally under another host name. */
function bazelIn(root: string, args: string[], opts: { env?: Record<string, string>; hostname?: string } = {}): Promise<BazelResult> {
  const startup = [`--output_user_root=${root}`, '--nohome_rc', '--max_idle_secs=300'];
  const command = opts.hostname ? ['unshare', ['--uts', 'sh', '-c', `hostname ${opts.hostname} && exec "$@"`, 'sh', BAZEL, ...startup, ...args]] : [BAZEL, [...startup, ...args]];
  return new Promise((resolve) => {
    execFile(command[0] as string, command[1] as string[], { cwd: ws.dir, env: { ...process.env, ...ENV, ...opts.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A stamped build of //build:server-images on `machine`, through the remote cache: its spawns. */
async function buildOn(machine: string, opts: { env?: Record<string, string>; hostname?: string } = {}): Promise<Spawn[]> {
  const root = join(ws.tmp, `root-${machine}`);
  roots.push(root);
  const log = join(ws.tmp, `exec-${machine}.json`);
  const r = await bazelIn(root, ['build', ...FLAGS, `--remote_cache=${cacheUrl}`, `--execution_log_json_file=${log}`, '//build:server-images'], opts);
  await bazelIn(root, ['shutdown']); // one Bazel server at a time on a small machine
  if (r.code !== 0) throw new Error(`bazel build on ${machine} failed:\n${r.stderr.split('\n').slice(-25).join('\n')}`);
  return parseExecLog(await readFile(log, 'utf8'));
}

const sha256 = async (f: string) => createHash('sha256').update(await readFile(join(ws.dir, f))).digest('hex');
const OUTPUTS = ['controller', 'webhook', 'cainjector'].map((c) => `bazel-bin/build/${c}.tar`);

test('another PATH shares the whole cache; another host misses only the status-key actions', async () => {
  const first = await buildOn('a');
  expect(first.length).toBe(22); // base, 15 images, 3 status extracts, 3 indexes
  expect(first.filter((s) => s.remoteCacheHit)).toEqual([]);
  const bytes = new Map(await Promise.all(OUTPUTS.map(async (f) => [f, await sha256(f)] as const)));
  const buildHost = async () => /^BUILD_HOST (.*)$/m.exec(await ws.read('bazel-out/stable-status.txt'))?.[1];
  const firstHost = await buildHost();

  // Another PATH (a folder first on it), for the client and for actions.
  const extra = join(ws.tmp, 'extra-bin');
  await mkdir(extra, { recursive: true });
  const otherPath = await buildOn('b', { env: { PATH: `${extra}:${process.env.PATH}` } });
  expect(otherPath.length).toBe(22);
  expect(otherPath.filter((s) => !s.remoteCacheHit).map((s) => s.mnemonic)).toEqual([]);

  // Another host name: stable-status.txt differs (BUILD_HOST), the keys the images use do not.
  const otherHost = await buildOn('c', { hostname: 'berth-other-host' });
  // (Java asks the resolver for the name, which does not know it: Bazel says "unknown".)
  expect(await buildHost()).not.toBe(firstHost);
  expect(otherHost.length).toBe(22);
  expect(otherHost.filter((s) => !s.remoteCacheHit).map((s) => s.mnemonic)).toEqual(['BerthStatusKeys', 'BerthStatusKeys', 'BerthStatusKeys']);
  for (const [f, hash] of bytes) expect([f, await sha256(f)]).toEqual([f, hash]);
});
