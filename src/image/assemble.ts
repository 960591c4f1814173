import { UsageError } from '../errors.js';
import { sha256Of, type Digest } from '../oci/digest.js';
import { compareIndexEntries, type Descriptor } from '../oci/descriptor.js';
import { convertLayerMediaType, formatOf, mediaTypesFor, type Format } from '../oci/mediatype.js';
import { encodeJson, type HistoryEntry, type ImageConfig, type ImageIndex, type ImageManifest } from '../oci/manifest.js';
import type { Platform } from '../oci/platform.js';
import { applyConfigChanges, scratchConfig, type ConfigChanges } from './config.js';

/** A layer to append: its compressed blob's descriptor fields and its uncompressed digest. */
export interface NewLayer {
  digest: Digest;
  size: number;
  diffID: Digest;
  history: HistoryEntry;
}

/** An image as bytes: what a transport writes. Digests are of the raw bytes. */
export interface AssembledImage {
  mediaType: string;
  digest: Digest;
  manifestRaw: Uint8Array;
  manifest: ImageManifest;
  configRaw: Uint8Array;
  config: ImageConfig;
}

export interface AssembleInput {
  /** The base image's layers and config; undefined for an empty (scratch) base. */
  base: { layers: Descriptor[]; config: ImageConfig } | undefined;
  layers: NewLayer[];
  changes: ConfigChanges;
  format: Format;
  annotations?: Record<string, string>;
}

/**
 * Builds the manifest and config of base + new layers with the config changes applied, in the
 * media types of `format`. Pure: the same input always gives the same bytes.
 */
export function assembleImage(input: AssembleInput): AssembledImage {
  const { base, format } = input;
  const hasAnnotations = input.annotations !== undefined && Object.keys(input.annotations).length > 0;
  if (hasAnnotations && format === 'docker') {
    throw new UsageError('BAD_FLAG', '--annotation: Docker manifests have no annotations; use --format oci or --label');
  }
  const types = mediaTypesFor(format);
  const baseConfig = base?.config ?? scratchConfig(input.changes.platform);
  const config = applyConfigChanges(baseConfig, input.changes, input.layers);
  const configRaw = encodeJson(config);

  const baseLayers = (base?.layers ?? []).map((l, i) => {
    const mediaType = convertLayerMediaType(l.mediaType, format);
    if (!mediaType) {
      throw new UsageError('BAD_FLAG', `--format ${format}: base layer ${i} (${l.digest}) has media type ${l.mediaType}, which has no ${format} equivalent`);
    }
    return { ...l, mediaType };
  });
  const newLayers: Descriptor[] = input.layers.map((l) => ({ mediaType: types.layerGzip, digest: l.digest, size: l.size }));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: sha256Of(configRaw), size: configRaw.length },
    layers: [...baseLayers, ...newLayers],
    ...(hasAnnotations ? { annotations: input.annotations } : {}),
  };
  const manifestRaw = encodeJson(manifest);
  return { mediaType: types.manifest, digest: sha256Of(manifestRaw), manifestRaw, manifest, configRaw, config };
}

/** A descriptor of an image for use in an index, with its platform. */
export function imageDescriptor(img: Pick<AssembledImage, 'mediaType' | 'digest' | 'manifestRaw'>, platform: Platform, annotations?: Record<string, string>): Descriptor {
  return {
    mediaType: img.mediaType,
    digest: img.digest,
    size: img.manifestRaw.length,
    platform,
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
}

/** Images with their platforms, in the order an index over them lists them (compareIndexEntries). */
export function inIndexOrder<T extends { image: Pick<AssembledImage, 'mediaType' | 'digest' | 'manifestRaw'>; platform: Platform }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compareIndexEntries(imageDescriptor(a.image, a.platform), imageDescriptor(b.image, b.platform)));
}

/**
 * An index (OCI) or manifest list (Docker) over images of one family, never mixed. Its entries
 * are in the canonical order (compareIndexEntries: by platform, then digest), not the order
 * given, so the same images always make the same index digest.
 */
export function assembleIndex(children: Descriptor[], format: Format, annotations?: Record<string, string>): { mediaType: string; digest: Digest; raw: Uint8Array; index: ImageIndex } {
  for (const c of children) {
    if (formatOf(c.mediaType) !== format) {
      throw new UsageError('BAD_MANIFEST', `index: ${c.digest} is a ${formatOf(c.mediaType)} manifest; one index never mixes OCI and Docker media types`);
    }
  }
  const types = mediaTypesFor(format);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: types.index,
    manifests: [...children].sort(compareIndexEntries),
    ...(annotations && Object.keys(annotations).length && format === 'oci' ? { annotations } : {}),
  };
  const raw = encodeJson(index);
  return { mediaType: types.index, digest: sha256Of(raw), raw, index };
}

/** The manifest over a config and layers already made, in `types`' media types. */
export function manifestOver(configRaw: Uint8Array, layers: Descriptor[], types: { manifest: string; config: string }): Omit<AssembledImage, 'configRaw' | 'config'> {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: sha256Of(configRaw), size: configRaw.length },
    layers,
  };
  const manifestRaw = encodeJson(manifest);
  return { mediaType: types.manifest, digest: sha256Of(manifestRaw), manifestRaw, manifest };
}
