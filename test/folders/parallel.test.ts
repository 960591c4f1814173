/**
 * Builds at once never interfere (issue 17, item 1): 3 images × 2 platforms FROM one
 * multi-platform base in the real registry, each with RUN, built through buildah with the
 * default --jobs, several times; and two berth processes sharing one cache folder building
 * the same tree at once. Each image's RUN records which base it saw (`/platform`), so a build
 * that ran on the other platform's base fails too, not only one that found no base.
 * linux/386 runs natively on an amd64 kernel, so no emulator is involved.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { BUSYBOX } from '../helpers/busybox-base.js';
import { run, tempDir } from '../helpers/tools.js';

let registry: TestRegistry;
let dir: string;
let cleanup: () => Promise<void>;
let tree: string;
const PLATFORMS = ['linux/amd64', 'linux/386'];
const NAMES = ['alpha', 'beta', 'gamma'];

const env = () => ({ PATH: process.env.PATH!, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000' });
const build = (out: string): Promise<CliResult> => berthBin(['images', 'build', '--all', ...PLATFORMS.flatMap((p) => ['-p', p]), '--output', out], { cwd: tree, env: env() });

/** What the RUN of image `name` saw as its base's platform, per platform of the tarball. */
async function seen(tarball: string, name: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of PLATFORMS) {
    const arch = p.split('/')[1]!;
    const oci = join(dir, `check-${name}-${arch}`);
    await rm(oci, { recursive: true, force: true });
    await run('skopeo', ['copy', '-q', '--override-arch', arch, `oci-archive:${tarball}`, `oci:${oci}:x`]);
    await run('umoci', ['unpack', '--image', `${oci}:x`, `${oci}-root`]);
    out[p] = (await readFile(join(`${oci}-root`, 'rootfs', 'seen'), 'utf8')).trim() + ' ' + (await readFile(join(`${oci}-root`, 'rootfs', name), 'utf8')).trim();
    await rm(`${oci}-root`, { recursive: true, force: true });
    await rm(oci, { recursive: true, force: true });
  }
  return out;
}

async function expectGood(r: CliResult, out: string): Promise<void> {
  expect({ code: r.code, last: r.stderr.trim().split('\n').at(-1) }).toEqual({ code: 0, last: expect.stringContaining('built') });
  // Quiet engines (item 9): no unused predefined args, no base of the wrong platform.
  expect(r.stderr).not.toMatch(/build args were not consumed/);
  expect(r.stderr).not.toMatch(/does not match the expected platform/);
  for (const name of NAMES) {
    expect(await seen(join(out, `${name}.tar`), name)).toEqual({ 'linux/amd64': `amd64 ${name}`, 'linux/386': `386 ${name}` });
  }
  // No work folder left in the shared cache.
  expect(await readdir(join(dir, 'cache', 'berth', 'work')).catch(() => [])).toEqual([]);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-parallel-'));
  registry = await startRegistry();
  // A base whose two platforms differ: busybox, and /platform saying which one it is.
  const ctx = join(dir, 'basectx');
  await mkdir(join(ctx, 'root', 'bin'), { recursive: true });
  await mkdir(join(ctx, 'root', 'tmp'), { recursive: true });
  await copyFile(BUSYBOX, join(ctx, 'root', 'bin', 'busybox'));
  await symlink('busybox', join(ctx, 'root', 'bin', 'sh'));
  for (const arch of ['amd64', '386']) {
    await mkdir(join(ctx, arch));
    await writeFile(join(ctx, arch, 'platform'), `${arch}\n`);
  }
  await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nARG TARGETARCH\nCOPY root /\nCOPY ${TARGETARCH}/platform /platform\n');
  const made = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), ...PLATFORMS.flatMap((p) => ['--platform', p]), '--tag', 'localhost/base:1', '--output', join(dir, 'base.tar')], { env: env() });
  expect(made.code).toBe(0);
  const pushed = await berthBin(['push', join(dir, 'base.tar'), `${registry.host}/upstream/base:1`], { env: env() });
  expect(pushed.code).toBe(0);
  tree = join(dir, 'tree');
  for (const name of NAMES) {
    await mkdir(join(tree, 'images', name), { recursive: true });
    await writeFile(join(tree, 'images', name, 'Dockerfile'), `FROM ${registry.host}/upstream/base:1\nRUN echo ${name} > /${name} && cat /platform > /seen\n`);
  }
  await run('git', ['init', '-q', tree]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

describe('builds at once', () => {
  test('3 images x 2 platforms FROM one multi-platform base, default --jobs, three runs: each right, nothing left over', async () => {
    for (let i = 0; i < 3; i++) {
      const out = join(dir, `out-${i}`);
      await expectGood(await build(out), out);
    }
  }, 600_000);

  test('two berth processes sharing one cache folder build the same tree at once, twice', async () => {
    for (let i = 0; i < 2; i++) {
      const [a, b] = await Promise.all([build(join(dir, `a-${i}`)), build(join(dir, `b-${i}`))]);
      await expectGood(a, join(dir, `a-${i}`));
      await expectGood(b, join(dir, `b-${i}`));
      expect(await readFile(join(dir, `a-${i}`, 'alpha.tar'))).toEqual(await readFile(join(dir, `b-${i}`, 'alpha.tar')));
    }
  }, 600_000);

  test('one RUN failing while others run: exit 1, the last line names image, platform, Dockerfile line and buildah\'s error; the others stopped, nothing left', async () => {
    const broken = join(dir, 'broken-tree');
    for (const name of NAMES) {
      await mkdir(join(broken, 'images', name), { recursive: true });
      await writeFile(join(broken, 'images', name, 'Dockerfile'), `FROM ${registry.host}/upstream/base:1\nRUN echo ${name}-started && sleep 3141\n`);
    }
    await mkdir(join(broken, 'images', 'zz-broken'), { recursive: true });
    await writeFile(join(broken, 'images', 'zz-broken', 'Dockerfile'), `FROM ${registry.host}/upstream/base:1\nENV X=1\n\nRUN echo about to fail && exit 3\n`);
    await run('git', ['init', '-q', broken]);
    const r = await berthBin(['images', 'build', '--all', '--jobs', '8', ...PLATFORMS.flatMap((p) => ['-p', p]), '--output', join(dir, 'broken-out')], { cwd: broken, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^berth: zz-broken buildah failed running images\/zz-broken\/Dockerfile:4 \(stage 0, linux\/(amd64|386)\) \(exit code 3\): exit status 3$/,
    );
    expect(r.stderr).not.toMatch(/ENOTEMPTY|internal error/);
    // The other builds were running their sleep and were stopped: none of it is left.
    const sleeping = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes('3141');
      } catch {
        return false;
      }
    });
    expect(sleeping).toEqual([]);
    expect(await readdir(join(dir, 'cache', 'berth', 'work')).catch(() => [])).toEqual([]);
    expect(await readdir(join(dir, 'broken-out')).catch(() => [])).toEqual([]);
  }, 300_000);
});
