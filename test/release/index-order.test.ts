/**
 * The same set of images always gives the same index, whatever order they are named in:
 * `berth index --image` in any order, `berth release` with its tarballs renamed under a
 * `--component` glob or its release.yaml platforms reordered, `berth base static --platform`
 * in any order. Permutations drawn by fast-check.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { run, tempDir } from '../helpers/tools.js';
import { archTarball, PLATFORMS } from './fixtures.js';

const CANONICAL = ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le'];

let dir: string;
let cleanup: () => Promise<void>;
const env = { PATH: process.env.PATH };
/** Platform -> the app's tarball for it. */
const tarballs: Record<string, string> = {};
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-order-'));
  await Promise.all(PLATFORMS.map(async (p) => (tarballs[p.platform] = await archTarball(dir, 'app', p))));
});
afterAll(() => cleanup());

const permutation = <T>(xs: T[]) => fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length });
let n = 0;

describe('berth index', () => {
  let reference: { digest: string; manifests: { platform: string }[] };
  beforeAll(async () => {
    const r = await berth(['index', ...PLATFORMS.flatMap((p) => ['--image', tarballs[p.platform]!]), '--output', join(dir, 'ref.tar'), '--json'], { env });
    expect(r.code).toBe(0);
    reference = JSON.parse(r.stdout);
    expect(reference.manifests.map((m) => m.platform)).toEqual(CANONICAL);
  });

  test('any order of --image gives the same digest, into a tarball and into a layout', async () => {
    await fc.assert(
      fc.asyncProperty(permutation(PLATFORMS.map((p) => p.platform)), fc.boolean(), async (order, layout) => {
        const out = layout ? `oci:${join(dir, `idx-${++n}`)}` : join(dir, `idx-${++n}.tar`);
        const r = await berth(['index', ...order.flatMap((p) => ['--image', tarballs[p]!]), '--output', out, '--json'], { env });
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).digest).toBe(reference.digest);
      }),
      { numRuns: 8 },
    );
  });

  test('skopeo reads the index it wrote in the canonical order', async () => {
    const raw = await run('skopeo', ['inspect', '--raw', `oci-archive:${join(dir, 'ref.tar')}`]);
    const index = JSON.parse(raw);
    expect(index.manifests.map((m: { platform: { os: string; architecture: string; variant?: string } }) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/'))).toEqual(CANONICAL);
  });
});

describe('berth release', () => {
  /** The plan's index digest for the app component (a dry run writes nothing). */
  async function planned(args: string[]): Promise<string> {
    const r = await berth(['release', ...args, '--to', `oci:${join(dir, 'never')}`, '--dry-run', '--json'], { env });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).components[0].index.digest;
  }

  test('tarballs renamed under a --component glob (so the glob lists them in another order) give the same index', async () => {
    const reference = await planned(['--component', `app=${dir}/app-*.tar`]);
    await fc.assert(
      fc.asyncProperty(permutation(PLATFORMS.map((p) => p.platform)), async (order) => {
        // Named 0.tar, 1.tar, ... in this order: the glob sorts by name, so it lists them so.
        const folder = join(dir, `renamed-${++n}`);
        await mkdir(folder);
        await Promise.all(order.map((p, i) => copyFile(tarballs[p]!, join(folder, `${i}.tar`))));
        expect(await planned(['--component', `app=${folder}/*.tar`])).toBe(reference);
      }),
      { numRuns: 8 },
    );
    // And what it writes is that index.
    const layout = join(dir, 'released');
    const r = await berth(['release', '--component', `app=${dir}/app-*.tar`, '--tag', 'v1', '--to', `oci:${layout}`, '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).components[0].digest).toBe(reference);
    expect(JSON.parse(r.stdout).components[0].platforms.map((p: { platform: string }) => p.platform)).toEqual(CANONICAL);
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layout}:app:v1`]);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(reference);
  });

  test('release.yaml platforms in any order give the same index', async () => {
    const reference = await planned(['--component', `app=${dir}/app-*.tar`]);
    await fc.assert(
      fc.asyncProperty(permutation(PLATFORMS.map((p) => p.platform)), async (order) => {
        const cfg = join(dir, `release-${++n}.yaml`);
        await writeFile(cfg, ['components:', '  app:', '    platforms:', ...order.map((p) => `      ${p}: ${tarballs[p]}`), ''].join('\n'));
        expect(await planned(['--config', cfg])).toBe(reference);
      }),
      { numRuns: 6 },
    );
  });
});

test('berth base static: --platform in any order gives the same index', async () => {
  const all = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
  let reference: string | undefined;
  await fc.assert(
    fc.asyncProperty(permutation(all), async (order) => {
      const r = await berth(['base', 'static', ...order.flatMap((p) => ['--platform', p]), '--output', join(dir, `base-${++n}.tar`), '--json'], { env });
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      reference ??= out.digest;
      expect(out.digest).toBe(reference);
      expect(out.platforms).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'linux/s390x']);
    }),
    { numRuns: 5 },
  );
  const index = JSON.parse(await run('tar', ['-xOf', join(dir, `base-${n}.tar`), `blobs/sha256/${reference!.slice('sha256:'.length)}`]));
  expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm', 'arm64', 's390x']);
});
