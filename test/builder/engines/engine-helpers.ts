import { expect } from '@jest/globals';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineBuildRequest, EngineContext, RunEngine } from '../../../src/builder/engines/engine.js';
import { contextLocalName } from '../../../src/builder/engines/engine.js';
import { parsePlatform } from '../../../src/oci/platform.js';
import { writeLocation } from '../../../src/transport/copy-image.js';
import type { Image } from '../../../src/transport/image.js';
import { readLocation } from '../../../src/transport/location.js';
import { imagePlatform, selectImage } from '../../../src/transport/select.js';
import { run } from '../../helpers/tools.js';

export const EPOCH = 1_700_000_000;

/** The RUN steps of the engines' tests: a file, a folder, an owner, a hard link, a symlink and a deletion (a whiteout). */
export const RUN_DOCKERFILE = `FROM base
RUN echo hi > /x && mkdir /d && touch /d/f && chown 1234:5678 /d/f && chmod 0640 /d/f && ln /x /y && ln -s x /z && rm -r /tmp
`;

export async function readImage(tarball: string): Promise<Image> {
  return selectImage(await readLocation({ kind: 'tarball', path: tarball }), undefined, tarball);
}

export function imageContext(name: string, image: Image): EngineContext {
  return { kind: 'image', image, localName: contextLocalName(name, image) };
}

/** One engine build of `dockerfile` (text) in a fresh folder under `dir`; returns the image and log. */
export async function engineBuild(
  engine: RunEngine,
  dir: string,
  dockerfile: string,
  opts: { platform?: string; contexts?: Record<string, EngineContext>; images?: { ref: string; image: Image }[]; buildArgs?: Record<string, string>; target?: string; files?: Record<string, string>; ignoreFile?: string } = {},
): Promise<{ image: Image; log: string[]; workDir: string }> {
  const workDir = await mkdtemp(join(dir, 'work-'));
  const ctx = join(workDir, 'ctx');
  await mkdir(ctx);
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  for (const [name, content] of Object.entries(opts.files ?? {})) await writeFile(join(ctx, name), content);
  const ignoreFile = join(workDir, 'context.dockerignore');
  if (opts.ignoreFile !== undefined) await writeFile(ignoreFile, opts.ignoreFile);
  const log: string[] = [];
  const req: EngineBuildRequest = {
    dockerfile: join(ctx, 'Dockerfile'),
    contextDir: ctx,
    platform: parsePlatform(opts.platform ?? 'linux/amd64'),
    buildArgs: opts.buildArgs ?? {},
    namedContexts: opts.contexts ?? {},
    workDir,
    epoch: EPOCH,
    format: 'oci',
    compressionLevel: 1,
    log: (l) => log.push(l),
    ...(opts.target ? { target: opts.target } : {}),
    ...(opts.images ? { images: opts.images } : {}),
    ...(opts.ignoreFile !== undefined ? { ignoreFile } : {}),
  };
  try {
    return { image: await engine.build(req), log, workDir };
  } catch (err) {
    (err as Error).message += `\n--- engine log ---\n${log.join('\n')}`;
    throw err;
  }
}

/** Writes the image to a layout and unpacks it with umoci; returns the rootfs folder. */
export async function unpack(image: Image, dir: string): Promise<string> {
  const layout = await mkdtemp(join(dir, 'layout-'));
  await writeLocation({ kind: 'layout', dir: layout, name: 'x' }, { images: [{ image, platform: imagePlatform(image) }] }, [], EPOCH);
  const bundle = join(layout, 'bundle');
  await run('umoci', ['unpack', '--image', `${layout}:x`, bundle]);
  return join(bundle, 'rootfs');
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink';
  mode: string;
  uid: number;
  gid: number;
  content?: string;
  target?: string;
  ino?: number;
}

/** A rootfs as a sorted map path → what a user would check (content of small files). */
export async function fileTree(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const s = await lstat(join(root, p));
      const base = { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid };
      if (s.isSymbolicLink()) out[p] = { type: 'symlink', ...base, target: await readlink(join(root, p)) };
      else if (s.isDirectory()) {
        out[p] = { type: 'dir', ...base };
        await walk(p);
      } else out[p] = { type: 'file', ...base, ...(s.size < 4096 ? { content: await readFile(join(root, p), 'utf8') } : { content: `<${s.size} bytes>` }) };
    }
  };
  await walk('');
  return out;
}

/** The created times of a config and of its history entries after the first `skip` (a base's). */
export function configTimes(image: Image, skip = 0): string[] {
  return [image.config.created ?? '', ...(image.config.history ?? []).slice(skip).map((h) => h.created ?? '')];
}

/** A Dockerfile naming an image by registry reference builds from berth's copy of it, with nothing pulled. */
export async function expectLoadedByReference(engine: RunEngine, dir: string, base: Image): Promise<void> {
  const ref = 'registry.example.com/team/base:1';
  const dockerfile = `FROM ${ref}\nRUN echo from-ref > /r\nFROM scratch\nCOPY --from=${ref} /bin/busybox /busybox\nCOPY --from=0 /r /r\n`;
  const { image } = await engineBuild(engine, dir, dockerfile, { images: [{ ref, image: base }] });
  const rootfs = await unpack(image, dir);
  expect(await readFile(join(rootfs, 'r'), 'utf8')).toBe('from-ref\n');
  expect((await readFile(join(rootfs, 'busybox'))).length).toBeGreaterThan(100_000);
}
