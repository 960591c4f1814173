/**
 * Work folders never outlive berth (issue 20, item 3; issue 17, item 3): SIGINT and SIGTERM
 * remove the run's own; a run killed with -9 leaves its folder, named after its PID and start
 * time, and the next run making a work folder there (or `berth cache prune`) removes it,
 * while the folders of runs still going are kept.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tools.js';
import { runBerth } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-hostile-leftovers-'));
});
afterAll(() => cleanup());

async function startOf(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** The PID and start of a process that has ended (a `sleep` killed with -9). */
async function deadOwner(): Promise<string> {
  const child = spawn('sleep', ['30']);
  const tag = `${child.pid}-${await startOf(child.pid!)}`;
  const gone = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await gone;
  return tag;
}

const hex = () => Math.random().toString(16).slice(2, 14).padEnd(12, '0');

/** An image folder whose build_binaries sleeps, so berth can be signalled mid-run; `started` appears when it runs. */
async function sleepyTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'images', 'app'), { recursive: true });
  await writeFile(join(dir, 'images', 'app', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  await writeFile(join(dir, 'images', 'app', 'build_binaries'), `#!/bin/sh\ntouch '${join(dir, 'started')}'\nexec sleep 30\n`);
  await chmod(join(dir, 'images', 'app', 'build_binaries'), 0o755);
}

async function waitFor(path: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await readFile(path).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} never appeared`);
}

function startImagesBuild(dir: string, cache: string) {
  const child = spawn(process.execPath, [BERTH_BIN, 'images', 'build', 'app', '--cache-dir', cache, '--output', join(dir, 'out')], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir }, stdio: 'ignore', detached: true });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, exit };
}

describe('work folders', () => {
  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s during `images build` removes the run\'s work folder; exit %i', async (signal, code) => {
    const dir = join(root, `signal-${signal}`);
    const cache = join(dir, 'cache');
    await sleepyTree(dir);
    const { child, exit } = startImagesBuild(dir, cache);
    await waitFor(join(dir, 'started'));
    expect((await readdir(join(cache, 'work'))).filter((n) => n.startsWith(`images-${child.pid}-`))).toHaveLength(1);
    child.kill(signal);
    expect(await exit).toEqual({ code, signal: null });
    expect(await readdir(join(cache, 'work'))).toEqual([]);
    try {
      process.kill(-child.pid!, 'SIGKILL'); // build_binaries' sleep, if berth left it (issue 17's part, not this test's)
    } catch {
      // none left
    }
  });

  test('after kill -9, the next run removes the dead run\'s folder; berth cache prune does too; a live owner\'s stays', async () => {
    const dir = join(root, 'kill9');
    const cache = join(dir, 'cache');
    await sleepyTree(dir);
    const { child, exit } = startImagesBuild(dir, cache);
    await waitFor(join(dir, 'started'));
    process.kill(-child.pid!, 'SIGKILL'); // berth and its build_binaries, as a CI runner cancelling a job does
    await exit;
    const left = await readdir(join(cache, 'work'));
    expect(left).toEqual([expect.stringMatching(new RegExp(`^images-${child.pid}-\\d+-[0-9a-f]{12}$`))]);

    // A folder of a run still going (this test's own process) is never touched.
    const live = `images-${process.pid}-${await startOf(process.pid)}-${hex()}`;
    await mkdir(join(cache, 'work', live));
    const r = await runBerth(['cache', 'prune', '--cache-dir', cache], { cwd: dir });
    expect(r.code).toBe(0);
    // One line for the step cache, one for the work folders.
    expect(r.lines).toEqual([expect.stringMatching(/^berth: cache prune: removed 0 steps or mounts/), `berth: ${cache}: removed 1 work folder of ended runs`]);
    expect(await readdir(join(cache, 'work'))).toEqual([live]);

    // A dead run's folder is removed by the next images run, too.
    const dead = `images-${await deadOwner()}-${hex()}`;
    await mkdir(join(cache, 'work', dead, 'layout'), { recursive: true });
    await writeFile(join(dir, 'images', 'app', 'build_binaries'), '#!/bin/sh\ntrue\n');
    const again = await runBerth(['images', 'build', 'app', '--cache-dir', cache, '--output', join(dir, 'out')], { cwd: dir });
    expect(again.code).toBe(0);
    expect(await readdir(join(cache, 'work'))).toEqual([live]);
  });

  test('a dead run\'s .berth-work folder beside an output is removed by the next build writing there', async () => {
    const dir = join(root, 'beside');
    await mkdir(join(dir, 'out'), { recursive: true });
    await writeFile(join(dir, 'f'), 'x');
    const dead = `.berth-work-${await deadOwner()}-${hex()}`;
    const live = `.berth-work-${process.pid}-${await startOf(process.pid)}-${hex()}`;
    const unrelated = '.berth-workshop';
    for (const d of [dead, live, unrelated]) await mkdir(join(dir, 'out', d));
    const r = await runBerth(['build', '--base', 'scratch', '--file', `${join(dir, 'f')}:/f`, '--output', join(dir, 'out', 'x.tar')], { cwd: dir });
    expect(r.code).toBe(0);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual([live, unrelated, 'x.tar'].sort());
  });
});
