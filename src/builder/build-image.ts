import { join } from 'node:path';
import { addExistingLayer, buildLayer } from '../blob/layer.js';
import { collectFileEntries, type FileSpec } from '../blob/files.js';
import type { Digest } from '../oci/digest.js';
import { assembleImage, type NewLayer } from '../image/assemble.js';
import type { ConfigChanges } from '../image/config.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import type { Reference } from '../oci/reference.js';
import { fileBlobs } from '../transport/file-blobs.js';
import type { Image } from '../transport/image.js';
import { describeLocation, readLocation, type AnyLocation, type Location } from '../transport/location.js';
import { pullBaseImage, type RegistryOptions } from '../transport/registry.js';
import { imagePlatform, selectImage } from '../transport/select.js';
import { buildStaticBase } from './build-static-base.js';
import { withOutputWorkdir, writeImages } from './output.js';

export type BaseSpec = { kind: 'scratch' } | { kind: 'static' } | { kind: 'location'; location: AnyLocation };

export const DEFAULT_PLATFORM: Platform = parsePlatform('linux/amd64');

export interface BuildOptions {
  base: BaseSpec;
  /** The platform to build; taken from a single-image base, else linux/amd64, when not given. */
  platform?: Platform;
  files: FileSpec[];
  /** Add ELF files for another platform than the image's (default: refuse them, exit 2). */
  allowForeignBinaries?: boolean;
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
  return withOutputWorkdir(opts.output, async (work) => {
    const base = await resolveBase(opts.base, { platform: opts.platform, epoch: opts.epoch, level: opts.compressionLevel, format: opts.format, work, registry: opts.registry ?? {}, where: (d) => `--base ${d}` });
    const platform = opts.platform ?? (base ? imagePlatform(base) : DEFAULT_PLATFORM);

    const built = new Map<Digest, string>();
    const newLayers: NewLayer[] = [];
    if (opts.files.length > 0) {
      const entries = await collectFileEntries(opts.files, { ...opts.owner, mtime: opts.epoch }, opts.allowForeignBinaries ? {} : { platform });
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
    const written = await writeImages(opts.output, [{ image, platform }], opts.tags, opts.format, opts.epoch);
    return {
      digest: image.digest,
      mediaType: image.mediaType,
      platform: formatPlatform(platform),
      output: written.output,
      tags: written.tags,
      layers: image.manifest.layers.length,
    };
  });
}

export interface ResolveBaseOptions {
  platform: Platform | undefined;
  epoch: number;
  level: number;
  format: Format;
  work: string;
  registry: RegistryOptions;
  /** How errors name the base, given its location ("--base x.tar", "Dockerfile:3: FROM x"). */
  where: (described: string) => string;
  /** A name for the static base's layer file in `work`, unique per build in one folder. */
  name?: string;
}

/** A base image: none (scratch), berth's static base, or an image read from a tarball, layout or registry. */
export async function resolveBase(spec: BaseSpec, opts: ResolveBaseOptions): Promise<Image | undefined> {
  switch (spec.kind) {
    case 'scratch':
      return undefined;
    case 'static':
      return buildStaticBase({ platform: opts.platform ?? DEFAULT_PLATFORM, epoch: opts.epoch, level: opts.level, format: opts.format, work: opts.work, ...(opts.name ? { name: opts.name } : {}) });
    case 'location': {
      const where = opts.where(describeLocation(spec.location));
      if (spec.location.kind === 'registry') return pullBaseImage(spec.location.ref, opts.platform, opts.registry, where);
      return selectImage(await readLocation(spec.location), opts.platform, where);
    }
  }
}
