import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { canonicalCreatedBy, normalizeImage, RUN_MOUNT_POINTS } from '../../../src/builder/engines/normalize.js';
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
