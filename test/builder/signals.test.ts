/**
 * SIGTERM and SIGINT while a RUN or a build_binaries runs (issue 17, item 3): berth ends every
 * process it started, whole trees (buildah and the RUN's own processes, the script and what
 * it started), before it exits 143 or 130, and leaves no work folder of its run. Checked from
 * outside, by the processes' PIDs and command lines under /proc.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN } from '../helpers/cli.js';
import { makeBusyboxBase } from '../helpers/busybox-base.js';
import { run, tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let base: string;

const env = () => ({ PATH: process.env.PATH!, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000' });

/** PIDs of live processes whose command line contains every one of `words` (as separate arguments). */
async function processesWith(...words: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const args = await readFile(`/proc/${e}/cmdline`, 'utf8').then((t) => t.split('\0'), (): string[] => []);
    if (words.every((w) => args.includes(w)) && alive(Number(e))) out.push(Number(e));
  }
  return out;
}

/** Starts berth, sends `signal` once every marker has appeared on its stderr; resolves to its exit code and stderr. */
function interrupt(argv: string[], cwd: string, markers: string[], signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string; pidsSeen: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BERTH_BIN, ...argv], { cwd, env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    let pidsSeen: number[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`markers never appeared: ${stderr}`));
    }, 240_000);
    child.stderr.on('data', async (d: Buffer) => {
      stderr += d.toString('utf8');
      if (!sent && markers.every((m) => stderr.includes(m))) {
        sent = true;
        // The sleeps the RUN and the script started are running: note them, then interrupt.
        for (let i = 0; i < 100 && pidsSeen.length < markers.length; i++) {
          await new Promise((r) => setTimeout(r, 100));
          pidsSeen = (await Promise.all(['3131', '3132', '3133'].map((n) => processesWith('sleep', n)))).flat();
        }
        child.kill(signal);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, pidsSeen });
    });
  });
}

/** Live buildah processes working in a folder under `root`. */
async function buildahsOf(root: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await processesWith('--storage-driver')) {
    if ((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes(root)) out.push(pid);
  }
  return out;
}

/** Whether `pid` still runs: a zombie (dead, its exit status not yet collected by init) does not. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-signals-'));
  base = await makeBusyboxBase(dir);
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

describe('interrupted builds', () => {
  test('berth build --dockerfile: SIGTERM mid-RUN ends buildah and the RUN, exit 143, no work folder, no output folder', async () => {
    const ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), 'FROM base\nRUN echo run-started && sleep 3131 && echo never\n');
    const out = join(dir, 'out-build', 'new');
    const r = await interrupt(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', `base=${base}`, '--output', join(out, 'img.tar')], dir, ['run-started'], 'SIGTERM');
    expect(r.code).toBe(143);
    expect(r.pidsSeen.length).toBeGreaterThan(0);
    expect(r.pidsSeen.filter(alive)).toEqual([]);
    expect(await processesWith('sleep', '3131')).toEqual([]);
    expect(await buildahsOf(dir)).toEqual([]);
    expect(await readdir(join(dir, 'out-build')).catch(() => [])).toEqual([]);
  }, 300_000);

  test('berth images build: SIGINT while one image RUNs and another one\'s build_binaries runs ends both, exit 130, cache work folder empty', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'images', 'runner'), { recursive: true });
    await mkdir(join(tree, 'images', 'side'), { recursive: true });
    await writeFile(join(tree, 'images', 'runner', 'Dockerfile'), 'FROM shell\nRUN echo run-started && sleep 3132\n');
    await writeFile(join(tree, 'images', 'side', 'Dockerfile'), 'FROM scratch\nCOPY out /out\n');
    await writeFile(join(tree, 'images', 'side', 'build_binaries'), '#!/bin/sh\necho bb-started\nsleep 3133 &\nwait\n');
    await chmod(join(tree, 'images', 'side', 'build_binaries'), 0o755);
    await mkdir(join(tree, 'images', 'shell'), { recursive: true });
    // The shell base as a local image folder: the busybox root makeBusyboxBase made.
    await writeFile(join(tree, 'images', 'shell', 'Dockerfile'), 'FROM scratch\nCOPY busybox-root /\n');
    await run('cp', ['-a', join(dir, 'busybox-root'), join(tree, 'images', 'shell', 'busybox-root')]);
    await run('git', ['init', '-q', tree]);
    const r = await interrupt(['images', 'build', '--all', '--output', join(dir, 'out-images')], tree, ['run-started', 'bb-started'], 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.pidsSeen.length).toBeGreaterThanOrEqual(2);
    expect(r.pidsSeen.filter(alive)).toEqual([]);
    expect(await processesWith('sleep', '3132')).toEqual([]);
    expect(await processesWith('sleep', '3133')).toEqual([]);
    expect(await buildahsOf(dir)).toEqual([]);
    expect(await readdir(join(dir, 'cache', 'berth', 'work')).catch(() => [])).toEqual([]);
  }, 300_000);
});
