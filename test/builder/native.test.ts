import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { buildNative, builtFromImage, DEFAULT_PATH, type Built } from '../../src/builder/native.js';
import { FsTree, imageTree, type FsNode } from '../../src/builder/rootfs.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/dockerfile/stage-plan.js';
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
