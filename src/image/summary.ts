import { humanBytes } from '../util/human-bytes.js';
import type { Digest } from '../oci/digest.js';
import type { ImageConfig, ImageIndex, ImageManifest } from '../oci/manifest.js';
import { formatPlatform } from '../oci/platform.js';

/** What `berth inspect` reports of one image; a stable shape for `--json`. */
export interface ImageSummary {
  kind: 'image';
  mediaType: string;
  digest: Digest;
  platform: string;
  /** Bytes of manifest, config and every layer (compressed, as stored): what a pull transfers. */
  size: number;
  created?: string;
  layers: { digest: string; size: number; mediaType: string }[];
  config: {
    digest: string;
    user?: string;
    entrypoint?: string[];
    cmd?: string[];
    workdir?: string;
    env: string[];
    labels: Record<string, string>;
    exposedPorts: string[];
  };
  annotations: Record<string, string>;
}

export interface IndexSummary {
  kind: 'index';
  mediaType: string;
  digest: Digest;
  /** Bytes of the index document alone; each image's size is its own. */
  size: number;
  /** The platforms of its images, in its order. */
  platforms: string[];
  annotations: Record<string, string>;
  manifests: (ImageSummary | IndexSummary)[];
}

export type Summary = ImageSummary | IndexSummary;

export function summariseImage(mediaType: string, digest: Digest, manifestSize: number, manifest: ImageManifest, config: ImageConfig): ImageSummary {
  const cc = config.config ?? {};
  const platform = formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) });
  return {
    kind: 'image',
    mediaType,
    digest,
    platform,
    size: manifestSize + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
    ...(config.created ? { created: config.created } : {}),
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    config: {
      digest: manifest.config.digest,
      ...(cc.User ? { user: cc.User } : {}),
      ...(cc.Entrypoint ? { entrypoint: cc.Entrypoint } : {}),
      ...(cc.Cmd ? { cmd: cc.Cmd } : {}),
      ...(cc.WorkingDir ? { workdir: cc.WorkingDir } : {}),
      env: cc.Env ?? [],
      labels: cc.Labels ?? {},
      exposedPorts: Object.keys(cc.ExposedPorts ?? {}),
    },
    annotations: manifest.annotations ?? {},
  };
}

export function summariseIndex(mediaType: string, digest: Digest, size: number, index: ImageIndex, children: Summary[]): IndexSummary {
  const platforms = children.map((c, i) => (c.kind === 'image' ? c.platform : index.manifests[i]?.platform ? formatPlatform(index.manifests[i]!.platform!) : 'index'));
  return { kind: 'index', mediaType, digest, size, platforms, annotations: index.annotations ?? {}, manifests: children };
}

/** The human rendering of a summary, one fact a line. */
export function renderSummary(s: Summary, indent = ''): string {
  const lines: string[] = [];
  const add = (l: string) => lines.push(`${indent}${l}`);
  if (s.kind === 'index') {
    add(`index      ${s.digest}`);
    add(`media type ${s.mediaType}`);
    add(`size       ${humanBytes(s.size)} (${s.size} bytes: the index document alone)`);
    add(`platforms  ${s.platforms.join(', ')}`);
    add(`images     ${s.manifests.length}`);
    for (const [k, v] of Object.entries(s.annotations)) add(`annotation ${k}=${v}`);
    for (const child of s.manifests) lines.push('', renderSummary(child, `${indent}  `));
    return lines.join('\n');
  }
  add(`image      ${s.digest}`);
  add(`media type ${s.mediaType}`);
  add(`platform   ${s.platform}`);
  add(`size       ${humanBytes(s.size)} (${s.size} bytes: manifest, config and compressed layers, as a pull moves them)`);
  if (s.created) add(`created    ${s.created}`);
  add(`config     ${s.config.digest}`);
  if (s.config.user) add(`user       ${s.config.user}`);
  if (s.config.entrypoint) add(`entrypoint ${JSON.stringify(s.config.entrypoint)}`);
  if (s.config.cmd) add(`cmd        ${JSON.stringify(s.config.cmd)}`);
  if (s.config.workdir) add(`workdir    ${s.config.workdir}`);
  for (const e of s.config.env) add(`env        ${e}`);
  for (const [k, v] of Object.entries(s.config.labels)) add(`label      ${k}=${v}`);
  for (const p of s.config.exposedPorts) add(`port       ${p}`);
  for (const [k, v] of Object.entries(s.annotations)) add(`annotation ${k}=${v}`);
  add(`layers     ${s.layers.length}`);
  for (const l of s.layers) add(`  ${l.digest}  ${humanBytes(l.size)}`);
  return lines.join('\n');
}

/** A name a layout or tarball gives (index.json's ref.name, RepoTags), and what it points at. */
export interface NameEntry {
  name: string;
  digest: Digest;
  mediaType: string;
  /** The image's platform, or an index's platforms. */
  platforms: string[];
}

/** The names block of `berth inspect`: one line per name, what it points at. */
export function renderNames(names: readonly NameEntry[]): string {
  const width = Math.max(...names.map((n) => n.name.length));
  const kind = (mt: string) => (/index|list/.test(mt) ? 'index' : 'image');
  return ['names', ...names.map((n) => `  ${n.name.padEnd(width)}  -> ${kind(n.mediaType)} ${n.digest}${n.platforms.length ? ` (${n.platforms.join(', ')})` : ''}`)].join('\n');
}
