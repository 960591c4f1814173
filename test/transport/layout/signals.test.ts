/**
 * An interrupted berth leaves nothing behind: a real `bin/berth.js build` with a large file is
 * sent a real SIGINT or SIGTERM mid-build (once its work folder appears: while it compresses
 * the layer, and while it writes the output), exits 130 or 143, and the output's folder is
 * exactly as it was: no `.berth-work-*` folder, no temporary file, no new layout or folder.
 * The same for `copy` and `index` of a large image while they write.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN, berth } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tools.js';
import { snapshotTree } from '../../helpers/tree.js';
import { testEnv } from '../../registry/fixtures.js';

/** Large enough that compressing it takes a while; random, so gzip cannot shortcut it. */
const BIG_BYTES = 64 << 20;

let dir: string;
let cleanup: () => Promise<void>;
let env: NodeJS.ProcessEnv;
let big: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-signals-'));
  env = testEnv(dir);
  big = join(dir, 'big.bin');
  const out = createWriteStream(big);
  for (let left = BIG_BYTES; left > 0; left -= 1 << 20) if (!out.write(randomBytes(1 << 20))) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r, j) => out.end(() => r()).once('error', j));
});
afterAll(() => cleanup());

type Output = 'an image tarball in a new folder' | 'a new OCI layout' | 'an existing OCI layout';
type Phase = 'compressing the layer' | 'writing the output';

/** The names in `folder` (none when it does not exist). */
const names = (folder: string) => readdir(folder).catch(() => [] as string[]);

/**
 * Whether a command has reached `phase`: a build's work folder holds the layer being
 * compressed; or the output is being written (for a layout, a work folder into which it is
 * staged, the build's own being the first; for a tarball, the temporary file beside it).
 */
async function reached(phase: Phase, watch: string, minWork: number): Promise<boolean> {
  const here = await names(watch);
  const work = here.filter((n) => n.startsWith('.berth-work-'));
  if (phase === 'compressing the layer') {
    for (const w of work) if ((await names(join(watch, w))).includes('files-layer')) return true;
    return false;
  }
  return work.length >= minWork || here.some((n) => /\.tmp-/.test(n));
}

let n = 0;
/** A fresh folder for one case, with an existing layout `L` in it for that output. */
async function caseFor(output: Output): Promise<{ d: string; out: string; watch: string }> {
  const d = join(dir, `case-${++n}`);
  await mkdir(d);
  if (output === 'an image tarball in a new folder') return { d, out: join(d, 'new', 'img.tar'), watch: join(d, 'new') };
  if (output === 'a new OCI layout') return { d, out: `oci:${join(d, 'L')}`, watch: d };
  expect((await berth(['base', 'static', '--output', `oci:${join(d, 'L')}:base`], { env })).code).toBe(0);
  return { d, out: `oci:${join(d, 'L')}:big`, watch: join(d, 'L') };
}

/** Runs bin/berth.js with `args`, sends `signal` once it has reached `phase`, and checks what it left in `d`. */
async function interrupt(args: string[], d: string, watch: string, signal: 'SIGINT' | 'SIGTERM', phase: Phase): Promise<void> {
  const before = await snapshotTree(d);
  const child = spawn(process.execPath, [BERTH_BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null }>((resolve) => child.on('exit', (code) => resolve({ code })));
  let done = false;
  void exited.then(() => (done = true));
  // Poll until the command is where it should be interrupted (should it finish first, the
  // assertion on its exit code below fails).
  while (!done && !(await reached(phase, watch, args[0] === 'build' ? 2 : 1))) await new Promise((r) => setTimeout(r, 5));
  child.kill(signal);
  const { code } = await exited;
  expect({ code, stderr }).toEqual({ code: signal === 'SIGINT' ? 130 : 143, stderr: '' });
  expect(await snapshotTree(d)).toEqual(before);
}

const OUTPUTS: Output[] = ['an image tarball in a new folder', 'a new OCI layout', 'an existing OCI layout'];

describe('an interrupted build removes its work folders and temporary files', () => {
  const build = (out: string) => ['build', '--base', 'static', '--file', `${big}:/big`, '--output', out];
  test.each(OUTPUTS.flatMap((o) => (['SIGINT', 'SIGTERM'] as const).map((s) => [o, s] as const)))('%s, %s while compressing the layer', async (output, signal) => {
    const { d, out, watch } = await caseFor(output);
    await interrupt(build(out), d, watch, signal, 'compressing the layer');
  });
  test.each(OUTPUTS.map((o, i) => [o, i % 2 ? 'SIGTERM' : 'SIGINT'] as const))('%s, %s while writing the output', async (output, signal) => {
    const { d, out, watch } = await caseFor(output);
    await interrupt(build(out), d, watch, signal, 'writing the output');
  });
});

describe('an interrupted copy or index removes its work folder and temporary files', () => {
  let bigImage: string;
  beforeAll(async () => {
    bigImage = join(dir, 'big-image.tar');
    expect((await berth(['build', '--base', 'static', '--file', `${big}:/big`, '--output', bigImage], { env })).code).toBe(0);
  });
  test.each(OUTPUTS.map((o, i) => [o, i % 2 ? 'SIGINT' : 'SIGTERM'] as const))('copy to %s, %s while writing it', async (output, signal) => {
    const { d, out, watch } = await caseFor(output);
    await interrupt(['copy', bigImage, out], d, watch, signal, 'writing the output');
  });
  test.each(OUTPUTS.map((o, i) => [o, i % 2 ? 'SIGTERM' : 'SIGINT'] as const))('index to %s, %s while writing it', async (output, signal) => {
    const { d, out, watch } = await caseFor(output);
    await interrupt(['index', '--image', bigImage, '--output', out], d, watch, signal, 'writing the output');
  });
});
