import { UsageError } from '../errors.js';
import { validateDescriptor, isObject, isStringMap, type Descriptor } from './descriptor.js';
import { isIndexMediaType, isManifestMediaType, MediaType } from './mediatype.js';

/** An image manifest (OCI or Docker v2 schema 2: same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The container configuration inside an image config (`config` key). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  [key: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image configuration blob. Unknown keys are kept, so a base's config survives a rebuild. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

function parseJson(raw: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (err) {
    throw new UsageError('BAD_MANIFEST', `${where}: not valid JSON (${(err as Error).message})`);
  }
}

/** The media type of a manifest or index document, from its `mediaType` or, failing that, its shape. */
export function sniffMediaType(doc: unknown, fallback?: string): string | undefined {
  if (!isObject(doc)) return undefined;
  if (typeof doc.mediaType === 'string') return doc.mediaType;
  if (fallback) return fallback;
  if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  if (isObject(doc.config) && Array.isArray(doc.layers)) return MediaType.ociManifest;
  return undefined;
}

export type ParsedManifest = { kind: 'manifest'; mediaType: string; manifest: ImageManifest } | { kind: 'index'; mediaType: string; index: ImageIndex };

/** Parses and checks a manifest or index; `mediaType` is what the descriptor or server said, if anything. */
export function parseManifestOrIndex(raw: Uint8Array, where: string, mediaType?: string): ParsedManifest {
  const doc = parseJson(raw, where);
  const mt = sniffMediaType(doc, mediaType);
  if (!isObject(doc) || doc.schemaVersion !== 2) throw new UsageError('BAD_MANIFEST', `${where}: not a schemaVersion 2 manifest or index`);
  if (isIndexMediaType(mt)) {
    if (!Array.isArray(doc.manifests)) throw new UsageError('BAD_MANIFEST', `${where}: index has no manifests list`);
    doc.manifests.forEach((d, i) => validateDescriptor(d, `${where} manifests[${i}]`));
    checkAnnotations(doc, where);
    return { kind: 'index', mediaType: mt!, index: doc as unknown as ImageIndex };
  }
  if (isManifestMediaType(mt)) {
    validateDescriptor(doc.config, `${where} config`);
    if (!Array.isArray(doc.layers)) throw new UsageError('BAD_MANIFEST', `${where}: manifest has no layers list`);
    doc.layers.forEach((d, i) => validateDescriptor(d, `${where} layers[${i}]`));
    checkAnnotations(doc, where);
    return { kind: 'manifest', mediaType: mt!, manifest: doc as unknown as ImageManifest };
  }
  throw new UsageError('BAD_MANIFEST', `${where}: unsupported media type ${JSON.stringify(mt ?? null)}`);
}

function checkAnnotations(doc: Record<string, unknown>, where: string): void {
  if (doc.annotations !== undefined && !isStringMap(doc.annotations)) throw new UsageError('BAD_MANIFEST', `${where}: annotations must be strings`);
}

/** Parses and checks an image config blob. */
export function parseImageConfig(raw: Uint8Array, where: string): ImageConfig {
  const doc = parseJson(raw, where);
  if (!isObject(doc)) throw new UsageError('BAD_MANIFEST', `${where}: image config is not an object`);
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') {
    throw new UsageError('BAD_MANIFEST', `${where}: image config has no architecture and os`);
  }
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) throw new UsageError('BAD_MANIFEST', `${where}: image config has no rootfs.diff_ids`);
  return doc as ImageConfig;
}

/**
 * Canonical bytes for a document berth writes: JSON with no insignificant white space, keys in
 * the order the object was built. Digests are taken of these bytes and never re-derived.
 */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
