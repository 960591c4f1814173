import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { canonicalCreatedBy, normalizeConfig, normalizeEngineOutput, normalizeImage, RUN_MOUNT_POINTS, specOrder } from '../../../src/builder/engines/normalize.js';
import type { Digest } from '../../../src/oci/digest.js';
import { MediaType } from '../../../src/oci/mediatype.js';
import type { ImageConfig } from '../../../src/oci/manifest.js';
import type { Image } from '../../../src/transport/image.js';
import { tempDir } from '../../helpers/tools.js';

const EPOCH = 1_700_000_000;
const NOW = new Date((EPOCH + 86_400) * 1000);
const OLD = new Date((EPOCH - 86_400) * 1000);

interface Member {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  content?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  uname?: string;
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

async function tarOf(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const m of members) {
    const content = m.content ?? '';
    pack.entry(
      {
        name: m.name,
        type: m.type ?? 'file',
        mode: m.mode ?? 0o644,
        uid: m.uid ?? 0,
        gid: m.gid ?? 0,
        uname: m.uname ?? 'root',
        gname: m.uname ?? 'root',
        mtime: m.mtime ?? NOW,
        ...(m.linkname ? { linkname: m.linkname } : {}),
        ...(m.type === 'character-device' ? { devmajor: 1, devminor: 3 } : {}),
        size: m.type === undefined || m.type === 'file' ? Buffer.byteLength(content) : 0,
      },
      ...((m.type === undefined || m.type === 'file' ? [content] : []) as [string]),
    );
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** An engine's output as berth reads it: plain tar layers held in memory. */
function engineImage(layers: Buffer[], config: Partial<ImageConfig> = {}, layerDescs?: Image['manifest']['layers']): Image {
  const blobs = new Map<string, Buffer>(layers.map((l) => [sha(l), l]));
  const cfg: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map(sha) },
    ...config,
  };
  const configRaw = Buffer.from(JSON.stringify(cfg));
  const manifest = {
    schemaVersion: 2 as const,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha(configRaw), size: configRaw.length },
    layers: layerDescs ?? layers.map((l) => ({ mediaType: MediaType.ociLayer, digest: sha(l), size: l.length })),
  };
  const manifestRaw = Buffer.from(JSON.stringify(manifest));
  return {
    kind: 'image',
    mediaType: MediaType.ociManifest,
    digest: sha(manifestRaw),
    manifestRaw,
    manifest,
    configRaw,
    config: cfg,
    blobs: { origin: 'test', open: async (d) => Readable.from([blobs.get(d.digest)!]) },
  };
}

async function readStream(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The headers of a normalized layer, in archive order. */
async function headersOf(image: Image, i: number): Promise<(tar.Header & { content: string })[]> {
  const gz = await readStream(await image.blobs.open(image.manifest.layers[i]!));
  const out: (tar.Header & { content: string })[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const e of extract) out.push({ ...e.header, content: (await readStream(e as unknown as Readable)).toString() });
  })();
  Readable.from([gunzipSync(gz)]).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-normalize-'));
});
afterAll(async () => cleanup());

const normalize = async (image: Image, extra: { bases?: Image[]; format?: 'oci' | 'docker' } = {}) =>
  normalizeImage(image, { engine: 'test-engine', epoch: EPOCH, format: 'oci', level: 1, workDir: await mkdtemp(join(dir, 'w-')), mountPoints: RUN_MOUNT_POINTS, ...extra });

const RUN_LAYER: Member[] = [
  { name: 'z', content: 'same inode\n', mtime: OLD },
  { name: 'd/', type: 'directory', mode: 0o755 },
  { name: 'd/f', content: '', uid: 1234, gid: 5678, mode: 0o640, uname: 'someone' },
  { name: 'a', type: 'link', linkname: 'z' },
  { name: '.wh.tmp', mode: 0o600 },
  { name: 'opaque/', type: 'directory' },
  { name: 'opaque/.wh..wh..opq' },
  { name: 'proc/', type: 'directory' },
  { name: 'etc/', type: 'directory', mode: 0o755 },
  { name: 'etc/hosts' },
  { name: 'etc/resolv.conf', content: 'nameserver 127.0.0.1\n' },
  { name: 'run/', type: 'directory' },
  { name: 'run/kept', content: 'x' },
  { name: 'l', type: 'symlink', linkname: '/d/f' },
];

describe('normalizeImage', () => {
  test('a RUN layer: sorted, mtimes clamped, names dropped, hard links regrouped, empty mount points dropped, whiteouts kept', async () => {
    const img = await normalize(engineImage([await tarOf(RUN_LAYER)]));
    const headers = await headersOf(img, 0);
    expect(headers.map((h) => [h.name, h.type, h.mode?.toString(8), h.uid, h.gid, h.mtime!.getTime() / 1000, h.uname, h.linkname ?? null, h.content])).toEqual([
      ['.wh.tmp', 'file', '600', 0, 0, EPOCH, '', null, ''],
      ['a', 'file', '644', 0, 0, EPOCH - 86_400, '', null, 'same inode\n'],
      ['d/', 'directory', '755', 0, 0, EPOCH, '', null, ''],
      ['d/f', 'file', '640', 1234, 5678, EPOCH, '', null, ''],
      ['etc/', 'directory', '755', 0, 0, EPOCH, '', null, ''],
      ['etc/resolv.conf', 'file', '644', 0, 0, EPOCH, '', null, 'nameserver 127.0.0.1\n'],
      ['l', 'symlink', '644', 0, 0, EPOCH, '', '/d/f', ''],
      ['opaque/', 'directory', '644', 0, 0, EPOCH, '', null, ''],
      ['opaque/.wh..wh..opq', 'file', '644', 0, 0, EPOCH, '', null, ''],
      ['run/', 'directory', '644', 0, 0, EPOCH, '', null, ''],
      ['run/kept', 'file', '644', 0, 0, EPOCH, '', null, 'x'],
      ['z', 'link', '644', 0, 0, EPOCH - 86_400, '', 'a', ''],
    ]);
    expect(img.manifest.layers[0]!.mediaType).toBe(MediaType.ociLayerGzip);
  });

  test('the same content in another order, with other times after the epoch and other user names, is the same image', async () => {
    const members = fc.array(
      fc.record({
        name: fc.stringMatching(/^[a-c]{1,3}(\/[a-c]{1,2})?$/),
        content: fc.string({ maxLength: 20 }),
        mtime: fc.integer({ min: 1, max: 1_000_000 }),
        uname: fc.constantFrom('root', 'builder', ''),
      }),
      { minLength: 1, maxLength: 12 },
    );
    await fc.assert(
      fc.asyncProperty(members, fc.integer({ min: 0, max: 1 << 30 }), async (raw, seed) => {
        const unique = [...new Map(raw.map((m) => [m.name, m])).values()];
        // A path cannot be both a file and a folder's parent.
        const files = unique.filter((m) => !unique.some((o) => o.name.startsWith(`${m.name}/`)));
        const asMembers = (order: typeof files, shift: number): Member[] =>
          order.map((m) => ({ name: m.name, content: m.content, uname: m.uname, mtime: new Date((EPOCH + m.mtime * shift) * 1000) }));
        const shuffled = [...files].sort((a, b) => ((a.name.length * 31 + seed) % 7) - ((b.name.length * 31 + seed) % 7) || (a.name < b.name ? 1 : -1));
        const one = await normalize(engineImage([await tarOf(asMembers(files, 1))]));
        const two = await normalize(engineImage([await tarOf(asMembers(shuffled, 2).map((m) => ({ ...m, uname: 'other' })))]));
        expect(two.digest).toBe(one.digest);
      }),
      { numRuns: 15 },
    );
  });

  test('the config: spec fields only, times at the epoch, engine labels and Docker bookkeeping dropped, BuildKit history unwrapped', async () => {
    const layer = await tarOf([{ name: 'x', content: 'x' }]);
    const img = await normalize(
      engineImage([layer], {
        created: '2026-12-04T23:28:39.277850526Z',
        docker_version: '20.10.24',
        container: 'e0b6b3c43c72',
        config: { Hostname: 'e0b6', Env: ['PATH=/bin'], Cmd: null, Labels: { 'io.buildah.version': '1.28.2', keep: 'me' }, Tty: false, Image: 'sha256:aa' },
        history: [{ created: '2026-12-04T23:29:01Z', created_by: 'RUN /bin/sh -c echo x > /x # buildkit', comment: 'buildkit.dockerfile.v0' }],
      }),
    );
    expect(Buffer.from(img.configRaw).toString()).toBe(
      JSON.stringify({
        created: '2023-11-14T22:13:20Z',
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/bin'], Labels: { keep: 'me' } },
        rootfs: { type: 'layers', diff_ids: [img.config.rootfs.diff_ids[0]] },
        history: [{ created: '2023-11-14T22:13:20Z', created_by: '/bin/sh -c echo x > /x' }],
      }),
    );
  });

  test("layers equal to a base's are the base's blobs, byte for byte", async () => {
    const baseLayer = await tarOf([{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: '#!' }]);
    const gz = Buffer.from('pretend-gzip');
    const base = engineImage([baseLayer], { history: [{ created_by: 'base', comment: 'kept' }] }, [{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]);
    const out = engineImage([baseLayer, await tarOf([{ name: 'x', content: 'x' }])], { history: [{ created_by: 'base', comment: 'kept' }, { created_by: 'run', comment: 'FROM base' }] });
    const img = await normalize(out, { bases: [base] });
    expect(img.manifest.layers[0]).toEqual({ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length });
    expect(img.config.rootfs.diff_ids[0]).toBe(sha(baseLayer));
    expect(img.config.history?.map((h) => h.comment)).toEqual(['kept', undefined]);
  });

  test('--format docker: Docker media types throughout, a base layer\'s converted', async () => {
    const baseLayer = await tarOf([{ name: 'a', content: 'a' }]);
    const gz = Buffer.from('pretend-gzip');
    const base = engineImage([baseLayer], {}, [{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]);
    const img = await normalize(engineImage([baseLayer, await tarOf([{ name: 'x', content: 'x' }])]), { bases: [base], format: 'docker' });
    expect(img.mediaType).toBe(MediaType.dockerManifest);
    expect(img.manifest.config.mediaType).toBe(MediaType.dockerConfig);
    expect(img.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.dockerLayerGzip, MediaType.dockerLayerGzip]);
    expect(img.manifest.layers[0]!.digest).toBe(sha(gz));
  });

  test('an engine layer that climbs out of the root, or holds a device, is refused', async () => {
    const climbing = await normalize(engineImage([await tarOf([{ name: '../etc/passwd', content: 'x' }])])).catch((e: unknown) => e);
    expect(climbing).toMatchObject({ code: 'UNSAFE_PATH', exitCode: 2 });
    const device = await normalize(engineImage([await tarOf([{ name: 'dev/null', type: 'character-device' }])])).catch((e: unknown) => e);
    expect(device).toMatchObject({ code: 'ENGINE_FAILED', exitCode: 1, message: 'test-engine output layer 1: entry "dev/null" is a character-device, which berth does not write into layers' });
  });

  test('an engine layer is read as strictly as --layer: symlinks and hard links leading out, and a malformed archive, are refused', async () => {
    const through = await normalize(engineImage([await tarOf([{ name: 'out', type: 'symlink', linkname: '../..' }, { name: 'out/x', content: 'x' }])])).catch((e: unknown) => e);
    expect(through).toMatchObject({ code: 'UNSAFE_PATH', exitCode: 2, message: expect.stringContaining('test-engine output layer 1: entry "out/x" is written through symlink "out" -> "../.."') });
    const hardlink = await normalize(engineImage([await tarOf([{ name: 'h', type: 'link', linkname: '../../etc/shadow' }])])).catch((e: unknown) => e);
    expect(hardlink).toMatchObject({ code: 'UNSAFE_PATH', exitCode: 2, message: expect.stringContaining('hardlink "h" -> "../../etc/shadow"') });
    const good = await tarOf([{ name: 'a', content: 'a' }]);
    const truncated = await normalize(engineImage([good.subarray(0, 700)])).catch((e: unknown) => e);
    expect(truncated).toMatchObject({ code: 'ENGINE_FAILED', exitCode: 1, message: expect.stringMatching(/^test-engine output layer 1: cannot read it \(not a valid tar archive \(truncated archive at byte 700\)\)$/) });
    const trailing = await normalize(engineImage([Buffer.concat([good, Buffer.from('junk')])])).catch((e: unknown) => e);
    expect(trailing).toMatchObject({ code: 'ENGINE_FAILED', message: expect.stringContaining('data after the end-of-archive marker') });
  });
});

describe('history text, one per instruction whichever engine wrote it', () => {
  const H = 'a'.repeat(64);
  test.each([
    ['RUN /bin/sh -c echo hi # buildkit', '/bin/sh -c echo hi'],
    ['/bin/sh -c echo hi', '/bin/sh -c echo hi'],
    [`/bin/sh -c #(nop) COPY file:${H} in /app `, 'COPY /app'],
    ['COPY --from=builder /out/app /app # buildkit', 'COPY /app'],
    [`/bin/sh -c #(nop) ADD dir:${H} in /opt/ `, 'ADD /opt/'],
    ['/bin/sh -c #(nop)  ENV K=v', 'ENV K=v'],
    ['ENV K=v', 'ENV K=v'],
    ['/bin/sh -c #(nop)  CMD ["/app"]', 'CMD ["/app"]'],
  ])('%j -> %j', (engine, canonical) => expect(canonicalCreatedBy(engine)).toBe(canonical));
});

/** A layer's headers as [name, type, mode, uid:gid, linkname, content], in archive order. */
const rows = (headers: (tar.Header & { content: string })[]) => headers.map((h) => [h.name, h.type, h.mode!.toString(8), `${h.uid}:${h.gid}`, h.linkname ?? '', h.content]);

const normalizeWith = async (image: Image, opts: Partial<Parameters<typeof normalizeImage>[1]> = {}) =>
  normalizeImage(image, { engine: 'test-engine', epoch: EPOCH, format: 'oci', level: 1, workDir: await mkdtemp(join(dir, 'w-')), ...opts });

describe('normalizeImage: what the engine wrote that berth refuses or reshapes', () => {
  test('a config listing more diff_ids than the manifest has layers is the engine\'s failure, exit 1', async () => {
    const layer = await tarOf([{ name: 'x', content: 'x' }]);
    const img = engineImage([layer], { rootfs: { type: 'layers', diff_ids: [sha(layer), sha(Buffer.from('other'))] } });
    const err = await normalize(img).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENGINE_FAILED', exitCode: 1, message: 'test-engine output: its config lists 2 diff_ids for 1 layers' });
  });

  test('an empty layer blob (size 0) is an empty layer, not an unreadable one', async () => {
    const img = await normalize(engineImage([Buffer.alloc(0)]));
    expect(await headersOf(img, 0)).toEqual([]);
    expect(img.config.rootfs.diff_ids).toHaveLength(1);
  });

  test('"./" names, the root entry, a legacy folder (a file member named "x/") and a contiguous file', async () => {
    const layer = await tarOf([
      { name: './', type: 'directory', mode: 0o755 },
      { name: './opt/', type: 'directory', mode: 0o700 },
      { name: './opt/./tool', content: 'tool', mode: 0o755, uid: 7, gid: 8 },
      { name: 'legacy/', mode: 0o750 },
    ]);
    const contiguous = await new Promise<Buffer>((resolve) => {
      const pack = tar.pack();
      const chunks: Buffer[] = [];
      pack.on('data', (c: unknown) => chunks.push(c as Buffer));
      pack.on('end', () => resolve(Buffer.concat(chunks)));
      pack.entry({ name: 'c', type: 'contiguous-file', mode: 0o600, size: 3, mtime: OLD }, 'abc');
      pack.finalize();
    });
    // One layer from both: the first's members then the contiguous file.
    const both = Buffer.concat([layer.subarray(0, layer.length - 1024), contiguous]);
    const img = await normalize(engineImage([both]));
    expect(rows(await headersOf(img, 0))).toEqual([
      ['c', 'file', '600', '0:0', '', 'abc'],
      ['legacy/', 'directory', '750', '0:0', '', ''],
      ['opt/', 'directory', '700', '0:0', '', ''],
      ['opt/tool', 'file', '755', '7:8', '', 'tool'],
    ]);
  });

  test('hard links: a chain is pointed at the first path of its group; links to a lower layer or to a symlink stay as they are', async () => {
    const img = await normalize(
      engineImage([
        await tarOf([
          { name: 'c', content: 'shared', mode: 0o751, uid: 3, gid: 4 },
          { name: 'b', type: 'link', linkname: 'c' },
          { name: 'a', type: 'link', linkname: './b' },
          { name: 'lower', type: 'link', linkname: 'usr/lib/from-the-base' },
          { name: 's', type: 'symlink', linkname: 'c' },
          { name: 'h', type: 'link', linkname: 's' },
        ]),
      ]),
    );
    expect(rows(await headersOf(img, 0))).toEqual([
      ['a', 'file', '751', '3:4', '', 'shared'],
      ['b', 'link', '751', '3:4', 'a', ''],
      ['c', 'link', '751', '3:4', 'a', ''],
      ['h', 'link', '644', '0:0', 's', ''],
      ['lower', 'link', '644', '0:0', 'usr/lib/from-the-base', ''],
      ['s', 'symlink', '644', '0:0', 'c', ''],
    ]);
  });

  test('mount points: a symlink or a file with content is kept; a folder is dropped only once what filled it went, whatever order they are given in', async () => {
    const layer = await tarOf([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/hosts' },
      { name: 'run/', type: 'directory' },
      { name: 'run/resolv.conf', type: 'symlink', linkname: '../etc/resolv.conf' },
      { name: 'proc/', type: 'directory' },
    ]);
    const img = await normalizeWith(engineImage([layer]), { mountPoints: ['etc', 'run', 'etc/hosts', 'run/resolv.conf'] });
    expect(rows(await headersOf(img, 0))).toEqual([
      ['proc/', 'directory', '644', '0:0', '', ''],
      ['run/', 'directory', '644', '0:0', '', ''],
      ['run/resolv.conf', 'symlink', '644', '0:0', '../etc/resolv.conf', ''],
    ]);
    // Without mount points, nothing is dropped.
    const kept = await normalizeWith(engineImage([layer]));
    expect((await headersOf(kept, 0)).map((h) => h.name)).toEqual(['etc/', 'etc/hosts', 'proc/', 'run/', 'run/resolv.conf']);
  });
});

describe('normalizeEngineOutput: the build request\'s settings and the platform the engine could not be told', () => {
  test('the platform given replaces the config\'s os, architecture and variant; RUN mount points are dropped; the request\'s format is used', async () => {
    const layer = await tarOf([{ name: 'proc/', type: 'directory' }, { name: 'x', content: 'x' }]);
    const img = await normalizeEngineOutput(
      engineImage([layer], { architecture: 'amd64', os: 'linux', variant: 'v8' }),
      { epoch: EPOCH, format: 'docker', compressionLevel: 1, workDir: await mkdtemp(join(dir, 'w-')) },
      { engine: 'docker', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    );
    expect([img.config.os, img.config.architecture, img.config.variant]).toEqual(['linux', 'arm', 'v7']);
    expect(img.mediaType).toBe(MediaType.dockerManifest);
    expect((await headersOf(img, 0)).map((h) => h.name)).toEqual(['x']);
    const noVariant = await normalizeEngineOutput(
      engineImage([layer], { architecture: 'arm64', os: 'linux', variant: 'v8' }),
      { epoch: EPOCH, format: 'oci', compressionLevel: 1, workDir: await mkdtemp(join(dir, 'w-')) },
      { engine: 'buildah', platform: { os: 'linux', architecture: 'amd64' } },
    );
    expect(Object.keys(noVariant.config)).toEqual(['created', 'architecture', 'os', 'rootfs', 'history']);
    expect(noVariant.config.architecture).toBe('amd64');
    // Without a platform, the config's own stays.
    const own = await normalizeEngineOutput(
      engineImage([layer], { architecture: 'arm64', os: 'linux', variant: 'v8' }),
      { epoch: EPOCH, format: 'oci', compressionLevel: 1, workDir: await mkdtemp(join(dir, 'w-')) },
      { engine: 'buildah' },
    );
    expect([own.config.architecture, own.config.variant]).toEqual(['arm64', 'v8']);
  });
});

describe('normalizeImage: which base\'s blobs and history are kept', () => {
  const gzOf = (text: string) => Buffer.from(`pretend-gzip ${text}`);
  const baseOf = (layers: Buffer[], gz: string[], history: ImageConfig['history'], mediaType: string = MediaType.ociLayerGzip) =>
    engineImage(layers, history ? { history } : {}, layers.map((_, i) => ({ mediaType, digest: sha(gzOf(gz[i]!)), size: gzOf(gz[i]!).length })));

  test('of two bases matching as many layers, the first; of two matching differently, the longer match', async () => {
    const l1 = await tarOf([{ name: 'one', content: '1' }]);
    const l2 = await tarOf([{ name: 'two', content: '2' }]);
    const run = await tarOf([{ name: 'run', content: 'r' }]);
    const first = baseOf([l1], ['first'], [{ created_by: 'first' }]);
    const second = baseOf([l1], ['second'], [{ created_by: 'second' }]);
    const tie = await normalize(engineImage([l1, run]), { bases: [first, second] });
    expect(tie.manifest.layers[0]!.digest).toBe(sha(gzOf('first')));
    const longer = baseOf([l1, l2], ['longer-1', 'longer-2'], [{ created_by: 'a' }, { created_by: 'b' }]);
    const img = await normalize(engineImage([l1, l2, run]), { bases: [first, longer] });
    expect(img.manifest.layers.slice(0, 2).map((l) => l.digest)).toEqual([sha(gzOf('longer-1')), sha(gzOf('longer-2'))]);
    expect(img.config.rootfs.diff_ids.slice(0, 2)).toEqual([sha(l1), sha(l2)]);
  });

  test('a base layer that is not gzip is normalized like the engine\'s own layers', async () => {
    const l1 = await tarOf([{ name: 'one', content: '1' }]);
    const plain = baseOf([l1], ['plain'], undefined, MediaType.ociLayer);
    const img = await normalize(engineImage([l1]), { bases: [plain] });
    expect(img.manifest.layers[0]!.digest).not.toBe(sha(gzOf('plain')));
    expect(img.manifest.layers[0]!.mediaType).toBe(MediaType.ociLayerGzip);
    expect(rows(await headersOf(img, 0))).toEqual([['one', 'file', '644', '0:0', '', '1']]);
  });

  test('the base\'s history entries, empty ones with them, are the base\'s own (times, keys and their order too); the build\'s lose the comment and are made canonical', async () => {
    const l1 = await tarOf([{ name: 'one', content: '1' }]);
    const run = await tarOf([{ name: 'run', content: 'r' }]);
    const baseHistory = [
      { created: '2023-06-12T01:02:03.123456789Z', created_by: '/bin/sh -c #(nop)  ARG V=1', comment: 'c0', empty_layer: true },
      { created_by: '/bin/sh -c #(nop) ADD file:abc in / ', comment: 'c1', author: 'debian', created: '2023-06-12T01:02:04Z' },
    ];
    const base = baseOf([l1], ['base'], baseHistory);
    const img = await normalize(
      engineImage([l1, run], {
        history: [...baseHistory, { created_by: '/bin/sh -c #(nop)  ENV  A=1', comment: 'buildah', empty_layer: true }, { created_by: 'RUN /bin/sh -c make # buildkit', comment: 'buildkit.dockerfile.v0', author: 'me' }, { comment: 'no text' }],
      }),
      { bases: [base] },
    );
    const created = '2023-11-14T22:13:20Z';
    expect(img.config.history).toEqual([
      { created: '2023-06-12T01:02:03.123456789Z', created_by: '/bin/sh -c #(nop)  ARG V=1', comment: 'c0', empty_layer: true },
      { created_by: '/bin/sh -c #(nop) ADD file:abc in / ', author: 'debian', comment: 'c1', created: '2023-06-12T01:02:04Z' },
      { created, created_by: 'ENV A=1', empty_layer: true },
      { created, created_by: '/bin/sh -c make', author: 'me' },
      { created },
    ]);
    expect(img.config.history!.map((h) => Object.keys(h))).toEqual([
      ['created', 'created_by', 'comment', 'empty_layer'],
      ['created_by', 'comment', 'author', 'created'],
      ['created', 'created_by', 'empty_layer'],
      ['created', 'created_by', 'author'],
      ['created'],
    ]);
  });

  test('a base with more layers than its history lists keeps all of its history', async () => {
    const l1 = await tarOf([{ name: 'one', content: '1' }]);
    const l2 = await tarOf([{ name: 'two', content: '2' }]);
    const base = baseOf([l1, l2], ['b1', 'b2'], [{ created_by: '/bin/sh -c #(nop)  CMD  ["sh"]', comment: 'only one' }]);
    const img = await normalize(engineImage([l1, l2], { history: [{ created_by: '/bin/sh -c #(nop)  CMD  ["sh"]', comment: 'only one' }] }), { bases: [base] });
    expect(img.config.history).toEqual([{ created_by: '/bin/sh -c #(nop)  CMD  ["sh"]', comment: 'only one' }]);
  });
});

describe('normalizeConfig and specOrder: the config fields kept, in one order', () => {
  const ids = [`sha256:${'1'.repeat(64)}`] as Digest[];

  test('variant, os.version, os.features and author are kept; empty ones and the container config\'s empty fields are dropped', () => {
    const kept = { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.version': '10.0.17763', 'os.features': ['win32k'], author: 'me' };
    const config = normalizeConfig(
      {
        ...kept,
        rootfs: { type: 'layers', diff_ids: [] },
        config: { User: '', WorkingDir: '', Entrypoint: [], Cmd: ['sh'], ArgsEscaped: true, ExposedPorts: {}, Labels: { 'io.buildah.version': '1.28.2' }, StopSignal: 'SIGTERM' },
      },
      ids,
      [],
      EPOCH,
    );
    expect(Buffer.from(JSON.stringify(config)).toString()).toBe(
      JSON.stringify({
        created: '2023-11-14T22:13:20Z',
        ...kept,
        config: { Entrypoint: [], Cmd: ['sh'], StopSignal: 'SIGTERM', ArgsEscaped: true },
        rootfs: { type: 'layers', diff_ids: ids },
        history: [],
      }),
    );
    const bare = normalizeConfig({ architecture: 'amd64', os: 'linux', 'os.features': [], rootfs: { type: 'layers', diff_ids: [] }, config: { ArgsEscaped: false, Labels: { 'io.buildah.version': '1' }, Env: null as unknown as string[] } }, ids, [], EPOCH);
    expect(Object.keys(bare)).toEqual(['created', 'architecture', 'os', 'rootfs', 'history']);
  });

  test('specOrder: the spec\'s keys first, others before rootfs and history, undefined ones dropped', () => {
    const ordered = specOrder({ history: [], rootfs: { type: 'layers', diff_ids: [] }, extra: 1, variant: undefined, config: {}, os: 'linux', architecture: 'amd64', created: 'c' } as unknown as ImageConfig);
    expect(Object.keys(ordered)).toEqual(['created', 'architecture', 'os', 'config', 'extra', 'rootfs', 'history']);
  });
});

describe('history text: more of what engines write', () => {
  test.each([
    ['RUN <<EOF\necho a\necho b\nEOF # buildkit', '<<EOF\necho a\necho b\nEOF'],
    ['ENV A=RUN b # buildkit', 'ENV A=RUN b'],
    ['RUN make # buildkit # not the end', 'RUN make # buildkit # not the end'],
    ['COPY <<EOF /etc/conf\nkey=value\nEOF # buildkit', 'COPY /etc/conf'],
    ['/bin/sh -c #(nop)  LABEL note=COPY a b', 'LABEL note=COPY a b'],
    ['/bin/sh -c #(nop)  LABEL a=1   b=2', 'LABEL a=1 b=2'],
    ['/bin/sh -c echo "a   b"', '/bin/sh -c echo "a   b"'],
    ['/bin/sh -c echo "/bin/sh -c #(nop) x"', '/bin/sh -c echo "/bin/sh -c #(nop) x"'],
    ['WORKDIR /srv # buildkit', 'WORKDIR /srv'],
  ])('%j -> %j', (engine, canonical) => expect(canonicalCreatedBy(engine)).toBe(canonical));
});

describe('normalizeImage: a base whose history ends in entries without a layer (bug fix)', () => {
  test('the base\'s closing CMD entry keeps its text and comment, as BuildKit, classic Docker and the native engine keep it; the build\'s own entries after it are made canonical', async () => {
    const gz = Buffer.from('pretend-gzip debian');
    const l1 = await tarOf([{ name: 'bin/', type: 'directory' }]);
    const l2 = await tarOf([{ name: 'usr/', type: 'directory' }]);
    const run = await tarOf([{ name: 'x', content: 'x' }]);
    const baseHistory = [
      { created_by: '/bin/sh -c #(nop) ADD file:abc in / ', comment: 'debian' },
      { created_by: '/bin/sh -c #(nop)  CMD ["bash"]', comment: 'debian', empty_layer: true },
    ];
    const base = engineImage([l1], { history: baseHistory }, [{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]);
    const img = await normalize(engineImage([l1, run], { history: [...baseHistory, { created_by: '/bin/sh -c #(nop)  ENV A=1', comment: 'FROM debian', empty_layer: true }, { created_by: '/bin/sh -c #(nop) COPY file:def in /x ', comment: 'FROM debian' }] }), { bases: [base] });
    const created = '2023-11-14T22:13:20Z';
    expect(img.config.history).toEqual([
      { created_by: '/bin/sh -c #(nop) ADD file:abc in / ', comment: 'debian' },
      { created_by: '/bin/sh -c #(nop)  CMD ["bash"]', comment: 'debian', empty_layer: true },
      { created, created_by: 'ENV A=1', empty_layer: true },
      { created, created_by: 'COPY /x' },
    ]);
    // Only part of a base matched: its entries up to its next layer's are the base's.
    const two = engineImage([l1, l2], { history: [...baseHistory, { created_by: '/bin/sh -c #(nop) ADD file:second in / ', comment: 'debian' }] }, [
      { mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length },
      { mediaType: MediaType.ociLayerGzip, digest: sha(Buffer.from('other')), size: 5 },
    ]);
    const partial = await normalize(engineImage([l1, run], { history: [...baseHistory, { created_by: '/bin/sh -c #(nop) COPY file:def in /x ', comment: 'FROM debian' }] }), { bases: [two] });
    expect(partial.config.history?.map((h) => [h.created_by, h.comment])).toEqual([
      ['/bin/sh -c #(nop) ADD file:abc in / ', 'debian'],
      ['/bin/sh -c #(nop)  CMD ["bash"]', 'debian'],
      ['COPY /x', undefined],
    ]);
  });
});

describe('normalizeImage: where the blobs come from', () => {
  test('new layers from the work folder, named after the engine; a base\'s layers from the base', async () => {
    const gz = Buffer.from('pretend-gzip base');
    const l1 = await tarOf([{ name: 'a', content: 'a' }]);
    const base: Image = { ...engineImage([l1], {}, [{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]), blobs: { origin: 'base', open: async (d) => Readable.from([d.digest === sha(gz) ? gz : Buffer.alloc(0)]) } };
    const img = await normalize(engineImage([l1, await tarOf([{ name: 'x', content: 'x' }])]), { bases: [base] });
    expect(img.blobs.origin).toBe('test-engine build');
    expect(await readStream(await img.blobs.open(img.manifest.layers[0]!))).toEqual(gz);
    expect(rows(await headersOf(img, 1))).toEqual([['x', 'file', '644', '0:0', '', 'x']]);
  });
});

describe('normalizeImage: bases that do not match, or match all, and names beyond ASCII', () => {
  test('an unrelated base gives nothing; the base unchanged is all the base\'s blobs; a base without history keeps none of the build\'s', async () => {
    const gz = Buffer.from('pretend-gzip unrelated');
    const l1 = await tarOf([{ name: 'one', content: '1' }]);
    const other = await tarOf([{ name: 'other', content: 'o' }]);
    const unrelated = engineImage([other], { history: [{ created_by: 'x', comment: 'c' }] }, [{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]);
    const history = [{ created_by: '/bin/sh -c #(nop) ADD file:abc in / ', comment: 'engine' }];
    const img = await normalize(engineImage([l1], { history }), { bases: [unrelated] });
    expect(img.kind).toBe('image');
    expect(img.manifest.layers[0]!.digest).not.toBe(sha(gz));
    expect(rows(await headersOf(img, 0))).toEqual([['one', 'file', '644', '0:0', '', '1']]);
    expect(img.config.history).toEqual([{ created: '2023-11-14T22:13:20Z', created_by: 'ADD /' }]);

    const same = engineImage([l1], {}, [{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]);
    const unchanged = await normalize(engineImage([l1], { history }), { bases: [same] });
    expect(unchanged.manifest.layers).toEqual([{ mediaType: MediaType.ociLayerGzip, digest: sha(gz), size: gz.length }]);
    expect(unchanged.config.history).toEqual([{ created: '2023-11-14T22:13:20Z', created_by: 'ADD /' }]);
  });

  test('UTF-8 names and link targets come through as they were written', async () => {
    const img = await normalize(engineImage([await tarOf([{ name: 'café', content: 'c' }, { name: 'naïve', type: 'symlink', linkname: 'café' }, { name: 'ünï', type: 'link', linkname: 'café' }])]));
    expect(rows(await headersOf(img, 0))).toEqual([
      ['café', 'file', '644', '0:0', '', 'c'],
      ['naïve', 'symlink', '644', '0:0', 'café', ''],
      ['ünï', 'link', '644', '0:0', 'café', ''],
    ]);
  });

  test('a work folder not made yet is made; a malformed layer\'s error keeps its cause', async () => {
    const img = await normalizeImage(engineImage([await tarOf([{ name: 'x', content: 'x' }])]), { engine: 'test-engine', epoch: EPOCH, format: 'oci', level: 1, workDir: join(await mkdtemp(join(dir, 'w-')), 'not', 'yet') });
    expect(rows(await headersOf(img, 0))).toEqual([['x', 'file', '644', '0:0', '', 'x']]);
    const good = await tarOf([{ name: 'a', content: 'a' }]);
    const err = (await normalize(engineImage([good.subarray(0, 700)])).catch((e: unknown) => e)) as Error;
    expect(err.cause).toMatchObject({ code: 'BAD_TARBALL' });
  });
});
