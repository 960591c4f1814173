import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { buildNative, builtFromImage, DEFAULT_PATH, type Built } from '../../src/builder/native.js';
import { FsTree, imageTree, type FsNode } from '../../src/builder/rootfs.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/dockerfile/stage-plan.js';
import type { Digest } from '../../src/oci/digest.js';
import type { Platform } from '../../src/oci/platform.js';
import type { Image } from '../../src/transport/image.js';
import { tempDir } from '../helpers/tools.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-native-')));
afterAll(async () => cleanup());

const f = (content: string, mode = 0o644): FsNode => ({ type: 'file', mode, uid: 0, gid: 0, size: Buffer.byteLength(content), source: Buffer.from(content) });

function contextOf(nodes: Record<string, FsNode>): FsTree {
  const t = new FsTree('context');
  for (const [p, node] of Object.entries(nodes)) t.nodes.set(p, node);
  return t;
}

/** Builds `text` natively; FROM/COPY --from names other than stages come from `images`. */
async function build(text: string, ctx: FsTree, images: Record<string, Image> = {}, platform = amd64): Promise<Image> {
  const df = parseDockerfile(text, 'Dockerfile');
  const plan = planBuild({ dockerfile: df, platform, buildPlatform: amd64, buildArgs: {}, contextNames: new Set(Object.keys(images)) });
  const work = join(dir, `b${n++}`);
  return buildNative({
    dockerfile: df,
    plan,
    context: async () => ctx,
    source: async (src): Promise<Built> => builtFromImage(images[src.kind === 'context' ? src.name : ''] ?? (() => { throw new Error(`no image ${JSON.stringify(src)}`); })(), join(work, 'src'), true),
    labels: {},
    format: 'oci',
    level: 1,
    epoch: 0,
    work,
  });
}

const ctx = contextOf({ 'a.txt': f('a'), 'b.txt': f('b'), passwd: f('root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'), group: f('root:x:0:\napp:x:1000:\n') });

describe('buildNative', () => {
  it('gives FROM scratch WorkingDir / and PATH, as BuildKit does', async () => {
    const img = await build('FROM scratch\nCOPY a.txt /\n', ctx);
    expect(img.config.config).toEqual({ Env: [DEFAULT_PATH], WorkingDir: '/' });
  });

  it('records a history entry for every instruction, empty_layer for those that make no layer, in the engines\' text', async () => {
    const img = await build('FROM scratch\nARG X=1\nENV A=$X\nCOPY a.txt /srv/\nLABEL l=v\nWORKDIR /srv\nWORKDIR /new\nCOPY b.txt c.txt\n', ctx);
    expect(img.config.history?.map((h) => `${h.empty_layer ? '-' : '+'} ${h.created_by}`)).toEqual([
      '- ARG X=1', '- ENV A=$X', '+ COPY /srv/', '- LABEL l=v', '- WORKDIR /srv', '+ WORKDIR /new', '+ COPY c.txt',
    ]);
    expect(img.manifest.layers).toHaveLength(3);
    expect(img.config.rootfs.diff_ids).toHaveLength(3);
  });

  it('makes a WORKDIR after USER owned by that user (by name from /etc/passwd, or by number)', async () => {
    const img = await build('FROM scratch\nCOPY passwd /etc/passwd\nCOPY group /etc/group\nUSER app\nWORKDIR /data/deep\nUSER 7:8\nWORKDIR /other\n', ctx);
    const tree = await imageTree(img);
    expect(tree.get('data')).toMatchObject({ type: 'directory', uid: 1000, gid: 1000 });
    expect(tree.get('data/deep')).toMatchObject({ type: 'directory', uid: 1000, gid: 1000 });
    expect(tree.get('other')).toMatchObject({ type: 'directory', uid: 7, gid: 8 });
    expect(tree.get('etc')).toMatchObject({ uid: 0, gid: 0 });
  });

  it('refuses WORKDIR after USER of a name the image does not know, one line naming it', async () => {
    await expect(build('FROM scratch\nUSER ghost\nWORKDIR /data\n', ctx)).rejects.toThrow(/^Dockerfile:3: WORKDIR \(as USER ghost\): no etc\/passwd in the image to look up user "ghost"; give numbers$/);
  });

  it('reads COPY --from a stage two hops from an image: the image\'s files are there', async () => {
    const base = await build('FROM scratch\nCOPY a.txt /from-image\n', ctx);
    const img = await build('FROM base AS one\nCOPY b.txt /one\nFROM one AS two\nFROM scratch\nCOPY --from=two /from-image /one /got/\n', ctx, { base });
    const tree = await imageTree(img, join(dir, 'x'));
    expect([...tree.nodes.keys()].sort()).toEqual(['got', 'got/from-image', 'got/one']);
    expect((await tree.readSmall('got/from-image'))?.toString()).toBe('a');
  });

  it('starts a stage FROM another stage with that stage\'s ARG values, as BuildKit does', async () => {
    const img = await build('ARG V=g\nFROM scratch AS a\nARG V\nARG W=w\nLABEL a=$V\nFROM a\nLABEL b=x$V c=$W\nFROM scratch AS other\nLABEL d=x$V\n', ctx);
    expect(img.config.config?.Labels).toEqual({ d: 'x' });
    const df = 'ARG V=g\nFROM scratch AS a\nARG V\nARG W=w\nFROM a\nLABEL b=x$V c=$W\n';
    expect((await build(df, ctx)).config.config?.Labels).toEqual({ b: 'xg', c: 'w' });
  });

  it('gives a base without PATH the default PATH, and keeps one that has it', async () => {
    const base = await build('FROM scratch\nENV PATH=/only\n', ctx);
    expect((await build('FROM base\nENV X=1\n', ctx, { base })).config.config?.Env).toEqual(['PATH=/only', 'X=1']);
  });

  it('processes 10,000 instructions in linear time (generous bound)', async () => {
    // Under bench/mutation.sh, a fifth of the input: each surviving mutant runs this test, instrumented.
    const count = process.env.BERTH_MUTATE ? 2_000 : 10_000;
    const text = `FROM scratch\n${Array.from({ length: count }, (_, i) => `LABEL l${i}=v${i}\nENV E${i % 50}=\${E${(i + 1) % 50}:-x}`).join('\n')}\n`;
    const started = Date.now();
    const img = await build(text, ctx);
    expect(Object.keys(img.config.config?.Labels ?? {})).toHaveLength(count);
    // Under bench/mutation.sh the sources are instrumented (several times slower): a looser bound there.
    expect(Date.now() - started).toBeLessThan(process.env.BERTH_MUTATE ? 60_000 : 5_000);
  });
});

/** tar headers (and small contents) of an image's layer `i`, in archive order. */
async function layerHeaders(img: Image, i: number): Promise<{ name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname?: string | null; content: string }[]> {
  const { createGunzip } = await import('node:zlib');
  const { pipeline } = await import('node:stream/promises');
  const tarStream = (await import('tar-stream')).default;
  const extract = tarStream.extract();
  const out: { name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname?: string | null; content: string }[] = [];
  extract.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      out.push({ name: h.name, type: h.type ?? 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: Math.round((h.mtime?.getTime() ?? 0) / 1000), ...(h.linkname ? { linkname: h.linkname } : {}), content: Buffer.concat(chunks).toString() });
      next();
    });
  });
  await pipeline(await img.blobs.open(img.manifest.layers[i]!), createGunzip(), extract);
  return out;
}

interface Built2Options {
  ctx?: FsTree;
  /** Named contexts: an image (a Built made from it), a Built, or a folder (FsTree). */
  sources?: Record<string, Image | Built | FsTree>;
  platform?: Platform;
  labels?: Record<string, string>;
  epoch?: number;
  warn?: (line: string) => void;
  run?: import('../../src/builder/native.js').RunStepper;
  fetchLimits?: import('../../src/builder/copy-instruction.js').FetchLimits;
  /** Records each source asked for: `NAME contents`. */
  asked?: string[];
  contextNames?: string[];
}

/** buildNative with the options a test needs; FROM/COPY --from names come from `sources` (context or image reference). */
async function build2(text: string, o: Built2Options = {}): Promise<Image> {
  const df = parseDockerfile(text, 'Dockerfile');
  const sources = o.sources ?? {};
  const platform = o.platform ?? amd64;
  const plan = planBuild({ dockerfile: df, platform, buildPlatform: amd64, buildArgs: {}, contextNames: new Set(o.contextNames ?? Object.keys(sources)) });
  const work = join(dir, `c${n++}`);
  return buildNative({
    dockerfile: df,
    plan,
    context: async () => o.ctx ?? ctx,
    source: async (src, _stage, _line, contents): Promise<Built | FsTree> => {
      const name = src.kind === 'context' ? src.name : src.ref;
      o.asked?.push(`${name} ${contents}`);
      const got = sources[name];
      if (!got) throw new Error(`no source ${name}`);
      if (got instanceof FsTree) return got;
      if ('kind' in got && got.kind === 'image') return builtFromImage(got, join(work, `src-${name}`), contents);
      return got as Built;
    },
    labels: o.labels ?? {},
    format: 'oci',
    level: 1,
    epoch: o.epoch ?? 0,
    work,
    ...(o.warn ? { warn: o.warn } : {}),
    ...(o.run ? { run: o.run } : {}),
    ...(o.fetchLimits ? { fetchLimits: o.fetchLimits } : {}),
  });
}

/** A Built whose image is an empty scratch image and whose file system is `tree`. */
async function builtOver(tree: FsTree, config?: Partial<Image['config']['config']> | null): Promise<Built> {
  const empty = await build2('FROM scratch\n');
  const image = config === undefined ? empty : { ...empty, config: { ...empty.config, config: config === null ? undefined : config } } as Image;
  return { image, tree: async () => tree };
}

const dirNode = (mode = 0o755, uid = 0, gid = 0): FsNode => ({ type: 'directory', mode, uid, gid });

describe('buildNative: refusals, one line naming the line', () => {
  it('refuses RUN without a RUN stepper', async () => {
    await expect(build2('FROM scratch\nCOPY a.txt /\nRUN echo hi\n')).rejects.toThrow('Dockerfile:3: RUN needs a container engine; the native engine builds no RUN (use --engine auto, buildah or docker)');
  });

  it('refuses FROM a build context that is a folder, by its name or reference, on the FROM line', async () => {
    const folder = contextOf({ 'x': f('x') });
    await expect(build2('# c\nFROM tree\nCOPY a.txt /\n', { sources: { tree: folder } })).rejects.toThrow('Dockerfile:2: FROM tree: that build context is a folder, not an image');
    await expect(build2('ARG V=3\nFROM alpine:$V\n', { sources: { 'alpine:3': folder }, contextNames: [] })).rejects.toThrow('Dockerfile:2: FROM alpine:3: that build context is a folder, not an image');
  });
});

describe('buildNative: which sources have their contents read', () => {
  it('reads contents of the bases of stages copied from (two hops), only metadata of the target\'s base; COPY --from an image reads contents', async () => {
    const base = await build('FROM scratch\nCOPY a.txt /a.txt\n', ctx);
    const asked: string[] = [];
    const img = await build2('FROM one AS a\nFROM a AS b\nFROM two\nCOPY --from=b /a.txt /x\nCOPY --from=three /a.txt /y\n', { sources: { one: base, two: base, three: base }, asked });
    expect(asked.sort()).toEqual(['one true', 'three true', 'two false']);
    const tree = await imageTree(img, join(dir, `t${n++}`));
    expect((await tree.readSmall('x'))?.toString()).toBe('a');
    expect((await tree.readSmall('y'))?.toString()).toBe('a');
  });
});

describe('buildNative: config', () => {
  it('adds the given labels to the target only, after its own (the given win)', async () => {
    const img = await build2('FROM scratch AS base\nLABEL b=1\nFROM base\nLABEL l=df a=1\n', { labels: { k: 'v', l: 'over' } });
    expect(img.config.config?.Labels).toEqual({ b: '1', l: 'over', a: '1', k: 'v' });
    expect(Object.keys(img.config.config?.Labels ?? {})).toEqual(['b', 'l', 'a', 'k']);
    expect((await build2('FROM scratch\nENV A=1\n')).config.config).toEqual({ Env: [DEFAULT_PATH, 'A=1'], WorkingDir: '/' });
    expect((await build2('FROM scratch\n', { labels: { only: 'given' } })).config.config?.Labels).toEqual({ only: 'given' });
  });

  it('records MAINTAINER as author, writes the config\'s keys in the engines\' order, and digests match the bytes', async () => {
    const { createHash } = await import('node:crypto');
    const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    const img = await build2('FROM scratch\nMAINTAINER Jo <jo@example.com>\nCOPY a.txt /\n', { epoch: 1_700_000_000 });
    expect(img.config.author).toBe('Jo <jo@example.com>');
    expect(Object.keys(img.config)).toEqual(['created', 'architecture', 'os', 'author', 'config', 'rootfs', 'history']);
    expect(img.config.created).toBe('2023-11-14T22:13:20Z');
    expect(img.config.history?.[0]).toEqual({ created: '2023-11-14T22:13:20Z', created_by: 'MAINTAINER Jo <jo@example.com>', empty_layer: true });
    expect(JSON.parse(Buffer.from(img.configRaw).toString())).toEqual(img.config);
    expect(Object.keys(JSON.parse(Buffer.from(img.configRaw).toString()) as object)).toEqual(Object.keys(img.config));
    expect(img.manifest.config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(img.configRaw), size: img.configRaw.length });
    expect(JSON.parse(Buffer.from(img.manifestRaw).toString())).toEqual(img.manifest);
    expect(img.digest).toBe(sha(img.manifestRaw));
    expect(img.blobs.origin).toBe('berth build --dockerfile (stage 0)');
    const plain = await build2('FROM scratch\nCOPY a.txt /\n');
    expect(Object.keys(plain.config)).toEqual(['created', 'architecture', 'os', 'config', 'rootfs', 'history']);
    const named = await build2('FROM scratch AS app\nCOPY a.txt /\n');
    expect(named.blobs.origin).toBe('berth build --dockerfile (stage "app")');
    await expect(named.blobs.open({ mediaType: 'x', digest: `sha256:${'0'.repeat(64)}` as Digest, size: 1 })).rejects.toThrow(`berth build --dockerfile (stage "app"): no blob sha256:${'0'.repeat(64)}`);
  });

  it('starts FROM scratch on another OS with no PATH or working folder', async () => {
    const windows: Platform = { os: 'windows', architecture: 'amd64' };
    const img = await build2('FROM scratch\nENV X=1\n', { platform: windows });
    expect(img.config.config).toEqual({ Env: ['X=1'] });
    expect([img.config.os, img.config.architecture]).toEqual(['windows', 'amd64']);
  });

  it('puts the default PATH first in a base\'s Env that lacks it (a name ending in PATH= is not PATH), keeps a base\'s other config', async () => {
    const t = new FsTree('rootfs');
    const noPath = await builtOver(t, { Env: ['NOPATH=', 'X=1'], User: 'u' });
    expect((await build2('FROM b\nENV Y=2\n', { sources: { b: noPath } })).config.config).toEqual({ Env: [DEFAULT_PATH, 'NOPATH=', 'X=1', 'Y=2'], User: 'u' });
    const noEnv = await builtOver(t, { User: 'u' });
    expect((await build2('FROM b\n', { sources: { b: noEnv } })).config.config).toEqual({ Env: [DEFAULT_PATH], User: 'u' });
    const noConfig = await builtOver(t, null);
    expect((await build2('FROM b\n', { sources: { b: noConfig } })).config.config).toEqual({ Env: [DEFAULT_PATH] });
    const windows: Platform = { os: 'windows', architecture: 'amd64' };
    expect((await build2('FROM b\nENV Z=1\n', { sources: { b: noEnv }, platform: windows })).config.config).toEqual({ Env: ['Z=1'], User: 'u' });
  });
});

describe('buildNative: WORKDIR layers', () => {
  function base(): FsTree {
    const t = new FsTree('rootfs');
    t.nodes.set('srv', dirNode(0o700, 5, 6));
    t.nodes.set('srv/file', f('x'));
    t.nodes.set('srv/link', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '/tmp' });
    t.nodes.set('etc', dirNode());
    t.nodes.set('etc/passwd', f('root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nodd:x:12:zz::/:/bin/sh\n'));
    return t;
  }

  it('makes the missing folders 0755 at the epoch, lists the existing parents as they are, and adds nothing when all exist', async () => {
    const img = await build2('FROM b\nWORKDIR /srv/a/b\nWORKDIR /srv/a\nWORKDIR srv\nCOPY a.txt .\n', { sources: { b: await builtOver(base()) }, epoch: 1_000_000 });
    expect(img.config.history?.map((h) => `${h.empty_layer ? '-' : '+'} ${h.created_by}`)).toEqual(['+ WORKDIR /srv/a/b', '- WORKDIR /srv/a', '+ WORKDIR srv', '+ COPY .']);
    expect(img.config.config?.WorkingDir).toBe('/srv/a/srv');
    expect(await layerHeaders(img, 0)).toEqual([
      { name: 'srv/', type: 'directory', mode: 0o700, uid: 5, gid: 6, mtime: 1_000_000, content: '' },
      { name: 'srv/a/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1_000_000, content: '' },
      { name: 'srv/a/b/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1_000_000, content: '' },
    ]);
    expect((await layerHeaders(img, 1)).map((h) => `${h.name} ${h.mode.toString(8)} ${h.uid}:${h.gid}`)).toEqual(['srv/ 700 5:6', 'srv/a/ 755 0:0', 'srv/a/srv/ 755 0:0']);
    expect((await layerHeaders(img, 2)).map((h) => h.name)).toEqual(['srv/', 'srv/a/', 'srv/a/srv/', 'srv/a/srv/a.txt']);
    expect(img.manifest.layers).toHaveLength(3);
  });

  it('adds no layer for a WORKDIR through a file or a symlink of that name', async () => {
    const img = await build2('FROM b\nWORKDIR /srv/file/x\nWORKDIR /srv/link\nWORKDIR /srv/link/deeper\n', { sources: { b: await builtOver(base()) } });
    expect(img.config.history?.map((h) => `${h.empty_layer ? '-' : '+'} ${h.created_by}`)).toEqual(['- WORKDIR /srv/file/x', '- WORKDIR /srv/link', '- WORKDIR /srv/link/deeper']);
    expect(img.manifest.layers).toHaveLength(0);
  });

  it('makes a WORKDIR after USER NAME that user\'s with its passwd group, after USER N N:N, and leaves existing parents\' owners', async () => {
    const img = await build2('FROM b\nUSER app\nWORKDIR /srv/app\nUSER 7\nWORKDIR /seven\nUSER 0:9\nWORKDIR /nine\n', { sources: { b: await builtOver(base()) } });
    expect((await layerHeaders(img, 0)).map((h) => `${h.name} ${h.uid}:${h.gid}`)).toEqual(['srv/ 5:6', 'srv/app/ 1000:1001']);
    expect((await layerHeaders(img, 1)).map((h) => `${h.name} ${h.uid}:${h.gid}`)).toEqual(['seven/ 7:7']);
    expect((await layerHeaders(img, 2)).map((h) => `${h.name} ${h.uid}:${h.gid}`)).toEqual(['nine/ 0:9']);
  });

  it('says why a WORKDIR after USER cannot be owned, without --chown in the message', async () => {
    const b = await builtOver(base());
    const cases: [string, string][] = [
      ['USER app:ghost', 'Dockerfile:3: WORKDIR (as USER app:ghost): no etc/group in the image to look up group "ghost"; give numbers'],
      ['USER nobody', 'Dockerfile:3: WORKDIR (as USER nobody): user "nobody" is not in the image\'s etc/passwd'],
      ['USER 99999999999', 'Dockerfile:3: WORKDIR (as USER 99999999999): user ID 99999999999 is out of range (at most 2147483647)'],
      ['USER 1:99999999999', 'Dockerfile:3: WORKDIR (as USER 1:99999999999): group ID 99999999999 is out of range (at most 2147483647)'],
    ];
    for (const [user, message] of cases) await expect(build2(`FROM b\n${user}\nWORKDIR /w\n`, { sources: { b } })).rejects.toThrow(message);
    // An existing folder needs no owner: no lookup, no error.
    expect((await build2('FROM b\nUSER ghost\nWORKDIR /srv\n', { sources: { b } })).manifest.layers).toHaveLength(0);
  });
});

describe('buildNative: RUN through a stepper', () => {
  it('gives the stepper the stage\'s layers, tree, mounts and context, and records its layer or an empty one', async () => {
    const { buildLayer } = await import('../../src/blob/layer.js');
    const seen: { line: number; file: string; layers: string[]; diffIDs: string[]; treeKeys: string[]; work: string; mounts: string[]; parentBytes: number; sameContext: boolean }[] = [];
    const context = async () => ctx;
    let k = 0;
    const run: import('../../src/builder/native.js').RunStepper = {
      async run(input) {
        const mounts: string[] = [];
        for (const m of input.mountFrom) {
          const t = m instanceof FsTree ? m : await m.tree();
          mounts.push(...[...t.nodes.keys()].sort());
        }
        const last = input.parent.layers.at(-1);
        let parentBytes = 0;
        if (last) for await (const c of await input.parent.blobs.open(last)) parentBytes += (c as Buffer).length;
        seen.push({ line: input.step.line, file: input.file, layers: input.parent.layers.map((l) => `${l.mediaType} ${l.size}`), diffIDs: [...input.parent.diffIDs], treeKeys: [...input.tree.nodes.keys()].sort(), work: input.work, mounts, parentBytes, sameContext: input.context === context });
        if (input.step.argv.join(' ').includes('nothing')) return undefined;
        const path = join(dir, `run-layer-${k++}`);
        input.tree.nodes.set('made', f('m'));
        const layer = await buildLayer([{ path: 'made', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 1, source: Buffer.from('m') }], { outPath: path, level: 1 });
        return { ...layer, path };
      },
    };
    const df = parseDockerfile('FROM scratch AS m\nCOPY b.txt /m.txt\nFROM scratch\nCOPY a.txt /\nRUN --mount=from=m,target=/m do it\nRUN nothing\nCOPY --from=m /m.txt /\n', 'Dockerfile');
    const plan = planBuild({ dockerfile: df, platform: amd64, buildPlatform: amd64, buildArgs: {}, contextNames: new Set() });
    const work = join(dir, `r${n++}`);
    const img = await buildNative({ dockerfile: df, plan, context, source: async () => { throw new Error('no source'); }, labels: {}, format: 'oci', level: 1, epoch: 0, work, run });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ line: 5, file: 'Dockerfile', treeKeys: ['a.txt'], work: join(work, 'stage-1', 'run-1'), mounts: ['m.txt'], sameContext: true });
    expect(seen[0]!.layers).toEqual([`application/vnd.oci.image.layer.v1.tar+gzip ${img.manifest.layers[0]!.size}`]);
    expect(seen[0]!.diffIDs).toEqual([img.config.rootfs.diff_ids[0]]);
    expect(seen[0]!.parentBytes).toBe(img.manifest.layers[0]!.size);
    expect(seen[1]).toMatchObject({ line: 6, treeKeys: ['a.txt', 'made'], work: join(work, 'stage-1', 'run-2'), mounts: [] });
    expect(seen[1]!.diffIDs).toEqual(img.config.rootfs.diff_ids.slice(0, 2));
    expect(img.config.history?.map((h) => `${h.empty_layer ? '-' : '+'} ${h.created_by}`)).toEqual(['+ COPY /', '+ RUN --mount=from=m,target=/m do it', '- RUN nothing', '+ COPY /']);
    expect(img.manifest.layers).toHaveLength(3);
    const tree = await imageTree(img);
    expect([...tree.nodes.keys()].sort()).toEqual(['a.txt', 'm.txt', 'made']);
  });

  it('records the stepper\'s history text for every instruction when it has one', async () => {
    const run: import('../../src/builder/native.js').RunStepper = {
      run: async () => undefined,
      historyText: (op) => `engine: ${op.createdBy}`,
    };
    const img = await build2('FROM scratch\nENV A=1\nCOPY a.txt /\nRUN true\n', { run });
    expect(img.config.history?.map((h) => `${h.empty_layer ? '-' : '+'} ${h.created_by}`)).toEqual(['- engine: ENV A=1', '+ engine: COPY a.txt /', '- engine: RUN true']);
  });
});

describe('buildNative: warnings and ADD limits', () => {
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(8), Buffer.from([2, 0, 0xb7, 0]), Buffer.alloc(44)]);
  const elfCtx = contextOf({ tool: { type: 'file', mode: 0o755, uid: 0, gid: 0, size: elf.length, source: elf } });

  it('warns of a foreign program copied into the target, not into a builder stage', async () => {
    const lines: string[] = [];
    await build2('FROM scratch AS builder\nCOPY tool /tool\nFROM scratch\nCOPY --from=builder /tool /bin/tool\n', { ctx: elfCtx, warn: (l) => lines.push(l) });
    expect(lines).toEqual(['Dockerfile:4: COPY: /bin/tool is ELF 64-bit LSB ARM aarch64 (linux/arm64), not a program for linux/amd64, the image\'s platform']);
    const none: string[] = [];
    await build2('FROM scratch\nCOPY tool /tool\n', { ctx: elfCtx, warn: (l) => none.push(l), platform: { os: 'linux', architecture: 'arm64' } });
    expect(none).toEqual([]);
  });

  it('applies the given ADD <url> limits', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('x'.repeat(100)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/file`;
      await expect(build2(`FROM scratch\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /x\n`, { fetchLimits: { maxBytes: 10 } })).rejects.toThrow(`Dockerfile:2: ADD: ${url}: the server sends 100 bytes, more than the limit of 10`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('builtFromImage', () => {
  it('indexes the tree once, extracting large files into a new folder only when contents are wanted', async () => {
    const big = 'z'.repeat((64 << 10) + 10);
    const img = await build2('FROM scratch\nCOPY big small /\n', { ctx: contextOf({ big: f(big), small: f('s') }) });
    const withContents = builtFromImage(img, join(dir, `bfi${n++}`, 'deep'), true);
    expect(withContents.image).toBe(img);
    const first = withContents.tree();
    expect(withContents.tree()).toBe(first);
    const t = await first;
    expect(t.get('big')).toMatchObject({ type: 'file', size: big.length });
    expect(typeof t.get('big')?.source).toBe('string');
    expect((await t.readSmall('big'))?.toString()).toBe(big);
    const meta = await builtFromImage(img, join(dir, `bfi${n++}`, 'deep'), false).tree();
    expect(meta.get('big')?.source).toBeUndefined();
    expect((await meta.readSmall('small'))?.toString()).toBe('s');
  });
});

describe('buildNative: a stage over layers', () => {
  it('gives a RUN stepper the base stage\'s layers first, readable through the stage\'s blobs; the image reads its base\'s layers', async () => {
    const got: { layers: number; diffIDs: string[]; bytes: number[] }[] = [];
    const run: import('../../src/builder/native.js').RunStepper = {
      async run(input) {
        const bytes: number[] = [];
        for (const l of input.parent.layers) {
          let b = 0;
          for await (const c of await input.parent.blobs.open(l)) b += (c as Buffer).length;
          bytes.push(b);
        }
        got.push({ layers: input.parent.layers.length, diffIDs: [...input.parent.diffIDs], bytes });
        return undefined;
      },
    };
    const img = await build2('FROM scratch AS base\nCOPY a.txt /a\nCOPY b.txt /b\nFROM base\nRUN true\n', { run });
    expect(img.manifest.layers).toHaveLength(2);
    expect(got).toEqual([{ layers: 2, diffIDs: img.config.rootfs.diff_ids, bytes: img.manifest.layers.map((l) => l.size) }]);
    const tree = await imageTree(img);
    expect([...tree.nodes.keys()].sort()).toEqual(['a', 'b']);
  });

  it('refuses COPY --from=scratch at planning, and reads a folder context given for COPY --from', async () => {
    await expect(build2('FROM scratch\nCOPY --from=scratch /x /x\n')).rejects.toThrow('Dockerfile:2: COPY: --from=scratch copies nothing');
    const img = await build2('FROM scratch\nCOPY --from=folder x /y\n', { sources: { folder: contextOf({ x: f('from folder') }) } });
    expect((await (await imageTree(img)).readSmall('y'))?.toString()).toBe('from folder');
  });
});

describe('buildNative: each stage once', () => {
  it('builds a stage that two others start from, and one copied from twice, once', async () => {
    const lines: number[] = [];
    const run: import('../../src/builder/native.js').RunStepper = { run: async (input) => { lines.push(input.step.line); return undefined; } };
    const img = await build2('FROM scratch AS a\nCOPY a.txt /a\nRUN once\nFROM a AS b\nRUN b\nFROM a AS c\nRUN c\nFROM scratch\nCOPY --from=b /a /b\nCOPY --from=c /a /c\nCOPY --from=a /a /a\n', { run });
    expect(lines.sort()).toEqual([3, 5, 7]);
    expect([...(await imageTree(img)).nodes.keys()].sort()).toEqual(['a', 'b', 'c']);
  });
});
