/**
 * No blob in an existing OCI layout is trusted by its file name: every command that writes
 * into a layout reuses a blob file only when its size and digest check out, and replaces it
 * otherwise. Each case plants wrong bytes under the right names (same size, and another
 * size), shows that the layout is then broken, runs the command, and checks the layout with
 * skopeo (which verifies every digest it copies), umoci, berth inspect, and by hashing every
 * blob file. The release read-back is shown to catch what it must.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { cp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { berth } from '../../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { run, tempDir } from '../../helpers/tools.js';
import { badBlobs } from '../../helpers/tree.js';
import { testEnv } from '../../registry/fixtures.js';
import { archTarball, HELLO, PLATFORMS } from '../../release/fixtures.js';
import { executePlan, planRelease } from '../../../src/release/index.js';
import { checkLayout } from '../../../src/transport/layout-check.js';
import { contentBlobs } from '../../../src/transport/content.js';
import { toWritableContent } from '../../../src/transport/copy-image.js';
import { readLocation } from '../../../src/transport/location.js';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
let amd64: string;
let arm64: string;
/** A layout holding the amd64 image as `app`, every blob intact: copied for each case. */
let pristine: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-reuse-'));
  env = testEnv(dir);
  reg = await startRegistry();
  [amd64, arm64] = await Promise.all([archTarball(dir, 'app', PLATFORMS[0]!), archTarball(dir, 'app', PLATFORMS[1]!)]);
  pristine = join(dir, 'pristine');
  expect((await berth(['copy', amd64, `oci:${pristine}:app`], { env })).code).toBe(0);
  expect((await berth(['push', amd64, `${reg.host}/reuse/app:v1`], { env })).code).toBe(0);
});
afterAll(async () => {
  await reg?.stop();
  await cleanup();
});

type Plant = 'same size' | 'another size';

/** A copy of the pristine layout whose every blob file holds wrong bytes under its right name. */
async function plantedLayout(name: string, plant: Plant): Promise<string> {
  const layout = join(dir, name);
  await rm(layout, { recursive: true, force: true });
  await cp(pristine, layout, { recursive: true });
  const blobs = join(layout, 'blobs', 'sha256');
  for (const f of await readdir(blobs)) {
    const bytes = await readFile(join(blobs, f));
    if (plant === 'same size') await writeFile(join(blobs, f), bytes.map((b) => b ^ 0x5a));
    else if (bytes.length > 8) await truncate(join(blobs, f), bytes.length - 7);
    else await writeFile(join(blobs, f), Buffer.concat([bytes, Buffer.from('garbage')]));
  }
  return layout;
}

/** Each command that writes into a layout, and the name it writes there. */
const COMMANDS: { name: string; args: (layout: string) => string[]; ref: string; image: boolean; all?: false }[] = [
  { name: 'copy', args: (l) => ['copy', amd64, `oci:${l}:again`], ref: 'again', image: true },
  {
    name: 'build --output oci:',
    args: (l) => ['build', '--base', 'static', '--platform', 'linux/amd64', '--file', `${join(HELLO, 'hello-amd64')}:/hello`, '--entrypoint', '/hello', '--label', 'component=app', '--output', `oci:${l}:built`],
    ref: 'built',
    image: true,
  },
  { name: 'pull', args: (l) => ['pull', `${reg.host}/reuse/app:v1`, '--output', `oci:${l}:pulled`], ref: 'pulled', image: true },
  { name: 'index', args: (l) => ['index', '--image', arm64, '--image', amd64, '--output', `oci:${l}:idx`], ref: 'idx', image: false },
  { name: 'release --to', args: (l) => ['release', '--component', `rel=${amd64}`, '--component', `other=${arm64}`, '--tag', 'v1', '--to', `oci:${l}`], ref: 'rel:v1', image: false },
  { name: 'base static', args: (l) => ['base', 'static', '--platform', 'linux/amd64', '--output', `oci:${l}:base`], ref: 'base', image: true, all: false },
];

describe('a blob file with wrong bytes under its right name is replaced, not reused', () => {
  const cases = COMMANDS.flatMap((c) => (['same size', 'another size'] as Plant[]).map((p) => [c.name, p] as const));
  test.each(cases)('%s, wrong bytes of %s', async (command, plant) => {
    const c = COMMANDS.find((x) => x.name === command)!;
    const layout = await plantedLayout(`${command.replace(/\W+/g, '-')}-${plant.replace(' ', '-')}`, plant);
    // Broken before: the planted files do not hash to their names, and skopeo refuses the image.
    const planted = await badBlobs(layout);
    expect(planted).toEqual(await readdir(join(layout, 'blobs', 'sha256')));
    await expect(run('skopeo', ['copy', '--quiet', `oci:${layout}:app`, `oci:${layout}-pre`])).rejects.toThrow();

    const r = await berth(c.args(layout), { env });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);

    // Every blob of what was written holds exactly the bytes its name says (planted ones among
    // them), and it reads back with every digest checked.
    const written = contentBlobs(await toWritableContent(await readLocation({ kind: 'layout', dir: layout, name: c.ref }), c.ref)).map((b) => b.desc.digest.slice('sha256:'.length));
    expect(written.filter((d) => planted.includes(d)).length).toBeGreaterThan(0);
    const bad = await badBlobs(layout);
    expect(bad.filter((d) => written.includes(d))).toEqual([]);
    const out = join(dir, `${command.replace(/\W+/g, '-')}-${plant.replace(' ', '-')}-copied`);
    await run('skopeo', ['copy', '--quiet', ...(c.image ? [] : ['--all']), `oci:${layout}:${c.ref}`, `oci:${out}`]);
    expect((await berth(['inspect', `oci:${layout}:${c.ref}`], { env })).code).toBe(0);
    if (c.all !== false) {
      // It wrote all of the image that was there too, so that image is whole again.
      expect(bad).toEqual([]);
      expect((await berth(['inspect', `oci:${layout}:app`], { env })).code).toBe(0);
    }
    if (c.image) await run('umoci', ['unpack', '--image', `${layout}:${c.ref}`, `${out}-bundle`]);
  });
});

test('copy from a layout into itself with a corrupt blob fails on the bad input and leaves the layout as it was', async () => {
  const layout = await plantedLayout('self', 'same size');
  const before = await badBlobs(layout);
  const index = await readFile(join(layout, 'index.json'));
  const r = await berth(['copy', `oci:${layout}:app`, `oci:${layout}:again`], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^berth: .*does not match its digest/);
  expect(await badBlobs(layout)).toEqual(before);
  expect(await readFile(join(layout, 'index.json'))).toEqual(index);
});

describe('the read-back after release --to checks what is on disk', () => {
  async function written(name: string) {
    const layout = join(dir, name);
    await rm(layout, { recursive: true, force: true });
    const r = await berth(['release', '--component', `rel=${amd64}`, '--component', `other=${arm64}`, '--tag', 'v1', '--to', `oci:${layout}`], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('read back and checked');
    const entries = await Promise.all(
      ['rel', 'other'].map(async (n) => ({ content: await toWritableContent(await readLocation({ kind: 'layout', dir: layout, name: `${n}:v1` }), n), refNames: [`${n}:v1`] })),
    );
    return { layout, entries };
  }

  test('release --to runs it: a source that breaks its promise to check its blobs is caught after the write', async () => {
    // A blob source that hands out wrong bytes unchecked (every real source checks them as they
    // stream); only the read-back from disk can then notice.
    const image = await readLocation({ kind: 'tarball', path: amd64 });
    if (image.kind !== 'image') throw new Error('want an image');
    const liar = { ...image, blobs: { origin: 'a liar', open: async (d: { size: number }) => Readable.from([Buffer.alloc(d.size, 0x41)]) } };
    const layout = join(dir, 'readback-liar');
    const plan = planRelease({
      components: [{ name: 'rel', where: 'test', sources: [{ source: 'liar', where: 'test', image: liar }] }],
      tags: ['v1'],
      destination: { kind: 'layout', dir: layout },
      archSuffixedRepos: false,
      format: 'oci',
    });
    await expect(executePlan(plan, {})).rejects.toThrow(`read-back check failed: oci:${layout} blob ${image.manifest.layers[0]!.digest}`);
  });

  test('an intact layout passes', async () => {
    const { layout, entries } = await written('readback-ok');
    await expect(checkLayout(layout, entries)).resolves.toBeUndefined();
  });

  test.each(['same size', 'another size'] as Plant[])('a layer blob with wrong bytes of %s fails it', async (plant) => {
    const { layout, entries } = await written(`readback-${plant.replace(' ', '-')}`);
    const layer = entries[0]!.content.images[0]!.image.manifest.layers.at(-1)!;
    const path = join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const bytes = await readFile(path);
    await writeFile(path, plant === 'same size' ? bytes.map((b) => b ^ 1) : bytes.subarray(1));
    await expect(checkLayout(layout, entries)).rejects.toThrow(`read-back check failed: oci:${layout} blob ${layer.digest}`);
  });

  test('a missing blob, a missing entry and an entry naming other content each fail it', async () => {
    const { layout, entries } = await written('readback-index');
    const config = entries[1]!.content.images[0]!.image.manifest.config.digest;
    await rm(join(layout, 'blobs', 'sha256', config.slice('sha256:'.length)));
    await expect(checkLayout(layout, entries)).rejects.toThrow(`blob ${config} is missing`);

    const { layout: l2, entries: e2 } = await written('readback-entry');
    const index = JSON.parse(await readFile(join(l2, 'index.json'), 'utf8'));
    const rel = index.manifests.find((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'] === 'rel:v1');
    const other = index.manifests.find((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'] === 'other:v1');
    await writeFile(join(l2, 'index.json'), JSON.stringify({ ...index, manifests: [rel] }));
    await expect(checkLayout(l2, e2)).rejects.toThrow('lists 0 entries for other:v1');
    await writeFile(join(l2, 'index.json'), JSON.stringify({ ...index, manifests: [rel, { ...other, digest: rel.digest }] }));
    await expect(checkLayout(l2, e2)).rejects.toThrow(`names other:v1 ${rel.digest}`);
  });
});
