import { join } from 'node:path';
import { addExistingLayer, buildLayer } from '../blob/layer.js';
import { collectFileEntries, type FileSpec } from '../blob/files.js';
import type { Digest } from '../oci/digest.js';
import { assembleImage, type NewLayer } from '../image/assemble.js';
import type { ConfigChanges } from '../image/config.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import { fileBlobs } from '../transport/file-blobs.js';
import type { Image } from '../transport/image.js';
import { describeLocation, outputPath, readLocation, type AnyLocation, type Location } from '../transport/location.js';
import { pullBaseImage, type RegistryOptions } from '../transport/registry.js';
import { imagePlatform, selectImage } from '../transport/select.js';
import { writeLocation } from '../transport/copy.js';
import { buildStaticBase } from './static-base.js';
import { withWorkdir } from './workdir.js';

export type BaseSpec = { kind: 'scratch' } | { kind: 'static' } | { kind: 'location'; location: AnyLocation };

export const DEFAULT_PLATFORM: Platform = parsePlatform('linux/amd64');

export interface BuildOptions {
  base: BaseSpec;
  /** The platform to build; taken from a single-image base, else linux/amd64, when not given. */
  platform?: Platform;
  files: FileSpec[];
  /** Existing layer tarballs (plain or gzip) appended after the files' layer. */
  layers: string[];
  owner: { uid: number; gid: number };
  config: Omit<ConfigChanges, 'platform' | 'created'>;
  annotations: Record<string, string>;
  /** Names the image goes by: RepoTags and ref.name in a tarball, entries of a layout. */
  tags: Reference[];
  format: Format;
  compressionLevel: number;
  /** SOURCE_DATE_EPOCH: `created` and every mtime. */
  epoch: number;
  output: Location;
  /** How a registry base is reached and cached (credentials, insecure hosts, cache folder). */
  registry?: RegistryOptions;
}

export interface BuildResult {
  digest: Digest;
  mediaType: string;
  platform: string;
  output: string;
  tags: string[];
  layers: number;
}

/** Builds one image: base, plus a layer of files and any given layers, with the config changed. */
export async function buildImage(opts: BuildOptions): Promise<BuildResult> {
  const outPath = opts.output.kind === 'tarball' ? opts.output.path : join(opts.output.dir, 'index.json');
  return withWorkdir(outPath, outputPath(opts.output), async (work) => {
    const base = await resolveBase(opts, work);
    const platform = opts.platform ?? (base ? imagePlatform(base) : DEFAULT_PLATFORM);

    const built = new Map<Digest, string>();
    const newLayers: NewLayer[] = [];
    if (opts.files.length > 0) {
      const entries = await collectFileEntries(opts.files, { ...opts.owner, mtime: opts.epoch });
      const path = join(work, 'files-layer');
      const layer = await buildLayer(entries, { outPath: path, level: opts.compressionLevel });
      built.set(layer.digest, path);
      newLayers.push({ ...layer, history: { created_by: 'berth build --file', comment: `${entries.filter((e) => e.type !== 'directory').length} files` } });
    }
    for (const [i, src] of opts.layers.entries()) {
      const path = join(work, `layer-${i}`);
      const layer = await addExistingLayer(src, path, opts.compressionLevel);
      built.set(layer.digest, path);
      newLayers.push({ ...layer, history: { created_by: 'berth build --layer' } });
    }

    const assembled = assembleImage({
      base: base ? { layers: base.manifest.layers, config: base.config } : undefined,
      layers: newLayers,
      changes: { ...opts.config, platform, created: opts.epoch },
      format: opts.format,
      annotations: opts.annotations,
    });
    const image: Image = { kind: 'image', ...assembled, blobs: fileBlobs(built, 'berth build', base?.blobs) };
    const names = opts.tags.map(formatReference);
    await writeLocation(opts.output, { images: [{ image, platform }] }, names, opts.epoch);
    return {
      digest: image.digest,
      mediaType: image.mediaType,
      platform: formatPlatform(platform),
      output: describeLocation(opts.output),
      tags: names,
      layers: image.manifest.layers.length,
    };
  });
}

async function resolveBase(opts: BuildOptions, work: string): Promise<Image | undefined> {
  switch (opts.base.kind) {
    case 'scratch':
      return undefined;
    case 'static':
      return buildStaticBase({ platform: opts.platform ?? DEFAULT_PLATFORM, epoch: opts.epoch, level: opts.compressionLevel, format: opts.format, work });
    case 'location': {
      const where = `--base ${describeLocation(opts.base.location)}`;
      if (opts.base.location.kind === 'registry') return pullBaseImage(opts.base.location.ref, opts.platform, opts.registry ?? {}, where);
      return selectImage(await readLocation(opts.base.location), opts.platform, where);
    }
  }
}
