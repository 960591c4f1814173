import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { OperationalError } from '../../errors.js';
import { buildLayer } from '../../blob/layer.js';
import { walkLayer } from '../../blob/layer-walk.js';
import type { TarEntry } from '../../blob/tar.js';
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { convertLayerMediaType, isGzipLayer, mediaTypesFor, type Format } from '../../oci/mediatype.js';
import type { Platform } from '../../oci/platform.js';
import { encodeJson, type ContainerConfig, type HistoryEntry, type ImageConfig } from '../../oci/manifest.js';
import { manifestOver } from '../../image/assemble.js';
import { fileBlobs } from '../../transport/file-blobs.js';
import type { BlobSource, Image } from '../../transport/image.js';
import type { EngineBuildRequest } from './engine.js';

/**
 * Rewrites what a RUN engine produced so that it depends only on the Dockerfile, its inputs
 * and SOURCE_DATE_EPOCH, not on the engine, its version or the moment:
 *
 * - Layers equal to a base's (same diffID at the same position as in one of `bases`) are
 *   the base's blobs, byte for byte, so a base's digests survive.
 * - Every other layer is read through berth's strict tar reader and path safety (as `--layer`), its entries sorted by path, mtimes
 *   clamped to the epoch (newer → epoch; older kept, as BuildKit's rewrite-timestamp does),
 *   no atime/ctime/PAX times, no user or group names (ids kept), hard links pointing at the
 *   first of their group in archive order, whiteouts kept as they are; then gzipped with
 *   berth's gzip at `level`.
 * - `mountPoints` the engine created for RUN (buildah: /dev, /proc, /etc/hosts, ...) are
 *   dropped when they are empty in the layer, as BuildKit and Docker do.
 * - The config keeps only the fields of the OCI image spec, times set to the epoch,
 *   engine labels (`io.buildah.version`) and Docker's bookkeeping (`container`,
 *   `docker_version`, `Hostname`, ...) dropped, diff_ids recomputed; the base's history
 *   entries are the base's own, unchanged; those after them lose the engine's comment and
 *   BuildKit's `RUN ... # buildkit` wrapping.
 */
export interface NormalizeOptions {
  epoch: number;
  format: Format;
  level: number;
  /** Scratch folder: spooled file contents and the new layer blobs. */
  workDir: string;
  /** Images the build started from (named image contexts): their layers are kept as they are. */
  bases?: readonly Image[];
  /** Paths (no leading '/') an engine creates as RUN mount points, dropped when empty. */
  mountPoints?: readonly string[];
  /** Names the engine in errors ("buildah"). */
  engine: string;
  /** The platform the config states, when the engine could not be told it (Docker's classic builder). */
  platform?: Platform;
}

/**
 * What engines create in a RUN step's layer as mount points (buildah: all of them; Docker:
 * the folders), dropped when the layer leaves them empty.
 */
export const RUN_MOUNT_POINTS = ['dev', 'proc', 'sys', 'run', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc'];

/** Labels an engine adds on its own, naming its version. */
const ENGINE_LABELS = ['io.buildah.version'];

/** The container config fields of the OCI image spec (plus Docker's ArgsEscaped, Healthcheck, OnBuild, Shell). */
const CONFIG_KEYS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'] as const;

/** normalizeImage with what a build request says (epoch, format, level, work folder). */
export function normalizeEngineOutput(
  image: Image,
  req: Pick<EngineBuildRequest, 'epoch' | 'format' | 'compressionLevel' | 'workDir'>,
  opts: Pick<NormalizeOptions, 'engine' | 'bases' | 'platform'>,
): Promise<Image> {
  return normalizeImage(image, { ...opts, epoch: req.epoch, format: req.format, level: req.compressionLevel, workDir: req.workDir, mountPoints: RUN_MOUNT_POINTS });
}

export async function normalizeImage(image: Image, opts: NormalizeOptions): Promise<Image> {
  const diffIDs = image.config.rootfs.diff_ids as Digest[];
  if (diffIDs.length !== image.manifest.layers.length) {
    throw engineOutput(opts, `its config lists ${diffIDs.length} diff_ids for ${image.manifest.layers.length} layers`);
  }
  const types = mediaTypesFor(opts.format);
  const base = matchBase(diffIDs, opts.bases ?? [], opts.format);
  const dir = join(opts.workDir, 'normalized');
  await mkdir(dir, { recursive: true });

  const built = new Map<Digest, string>();
  const layers: Descriptor[] = [...base.layers];
  const newDiffIDs: Digest[] = diffIDs.slice(0, base.layers.length);
  for (let i = base.layers.length; i < diffIDs.length; i++) {
    const desc = image.manifest.layers[i]!;
    const where = `${opts.engine} output layer ${i + 1}`;
    const entries = await readLayerEntries(await image.blobs.open(desc), desc, join(dir, `spool-${i}`), where, opts);
    const outPath = join(dir, `layer-${i}.tar.gz`);
    const info = await buildLayer(entries, { outPath, level: opts.level });
    built.set(info.digest, outPath);
    layers.push({ mediaType: types.layerGzip, digest: info.digest, size: info.size });
    newDiffIDs.push(info.diffID);
  }

  const stated = opts.platform ? { ...image.config, os: opts.platform.os, architecture: opts.platform.architecture, variant: opts.platform.variant } : image.config;
  const config = normalizeConfig(stated, newDiffIDs, base.history, opts.epoch);
  const configRaw = encodeJson(config);
  return {
    kind: 'image',
    ...manifestOver(configRaw, layers, types),
    configRaw,
    config,
    blobs: fileBlobs(built, `${opts.engine} build`, base.source),
  };
}

/** The longest prefix of `diffIDs` that is one base image's layers, with that base's blobs. */
function matchBase(diffIDs: readonly Digest[], bases: readonly Image[], format: Format): { layers: Descriptor[]; history: HistoryEntry[]; source?: BlobSource } {
  let best: { layers: Descriptor[]; history: HistoryEntry[]; source?: BlobSource } = { layers: [], history: [] };
  for (const b of bases) {
    const ids = b.config.rootfs.diff_ids;
    let n = 0;
    while (n < ids.length && n < diffIDs.length && ids[n] === diffIDs[n]) n++;
    // A layer whose media type has no equivalent in the format is re-normalized instead.
    const layers: Descriptor[] = [];
    for (const l of b.manifest.layers.slice(0, n)) {
      const mediaType = convertLayerMediaType(l.mediaType, format);
      if (!mediaType || !isGzipLayer(mediaType)) break;
      layers.push({ mediaType, digest: l.digest, size: l.size });
    }
    if (layers.length > best.layers.length) {
      const history = b.config.history ?? [];
      best = { layers, history: history.slice(0, historyCovering(history, layers.length)), source: b.blobs };
    }
  }
  return best;
}

/**
 * How many history entries describe the first `layers` layers: empty_layer entries ride along,
 * those after the last of them too (a base's closing `CMD ["bash"]` is the base's entry).
 */
function historyCovering(history: readonly HistoryEntry[], layers: number): number {
  let seen = 0;
  for (let i = 0; i < history.length; i++) {
    if (history[i]!.empty_layer) continue;
    if (seen === layers) return i;
    seen++;
  }
  return history.length;
}

/** The member types berth refuses in a layer, by the names its errors give them. */
const REFUSED_TYPES: Record<string, string> = { '3': 'character-device', '4': 'block-device', '6': 'fifo' };

/**
 * One layer's members as sorted-ready TarEntries, contents spooled to files under `spool`.
 * Read through berth's strict layer walk (blob/layer-walk.ts): strict headers and path safety,
 * as for `--layer`; a malformed layer is the engine's failure (ENGINE_FAILED).
 */
async function readLayerEntries(blob: Readable, desc: Descriptor, spool: string, where: string, opts: NormalizeOptions): Promise<TarEntry[]> {
  await mkdir(spool, { recursive: true });
  const byPath = new Map<string, TarEntry>();
  const links: { path: string; target: string; entry: TarEntry }[] = [];
  if (desc.size === 0) {
    blob.resume();
    return [];
  }
  let n = 0;
  let file: { handle: FileHandle; entry: TarEntry } | undefined;
  try {
    await walkLayer(blob, where, {
      async entry(member) {
        // Archive names are raw bytes (latin1 strings); entries are written as UTF-8.
        const name = utf8(member.name);
        const path = cleanPath(name);
        if (path === '') return;
        // A legacy directory: a file member whose name ends in '/' (Go's reader reads it so).
        const type = member.type === '0' && name.endsWith('/') ? '5' : member.type;
        const common = { path, mode: member.mode & 0o7777, uid: member.uid, gid: member.gid, mtime: clamp(member.mtime, opts.epoch) };
        switch (type) {
          case '0':
          case '7': {
            if (member.size === 0) {
              byPath.set(path, { ...common, type: 'file' });
            } else {
              const entry: TarEntry = { ...common, type: 'file', size: member.size, source: join(spool, String(n++)) };
              file = { handle: await open(entry.source as string, 'w'), entry };
            }
            break;
          }
          case '5':
            byPath.set(path, { ...common, type: 'directory' });
            break;
          case '2':
            byPath.set(path, { ...common, type: 'symlink', linkname: utf8(member.linkname) });
            break;
          case '1': {
            const entry: TarEntry = { ...common, type: 'hardlink', linkname: cleanPath(utf8(member.linkname)) };
            byPath.set(path, entry);
            links.push({ path, target: entry.linkname!, entry });
            break;
          }
          default:
            throw new OperationalError('ENGINE_FAILED', `${where}: entry "${path}" is a ${REFUSED_TYPES[type] ?? `member of type '${type}'`}, which berth does not write into layers`);
        }
      },
      async data(chunk) {
        if (file) await file.handle.write(chunk);
      },
      async entryEnd() {
        if (!file) return;
        const { handle, entry } = file;
        file = undefined;
        await handle.close();
        byPath.set(entry.path, entry);
      },
    });
  } catch (err) {
    await file?.handle.close().catch(() => {});
    const e = err as Error & { code?: string };
    if (err instanceof OperationalError || e.code === 'UNSAFE_PATH') throw err;
    // BAD_TARBALL's message already starts with `where`.
    const why = e.message.startsWith(`${where}: `) ? e.message.slice(where.length + 2) : e.message;
    throw new OperationalError('ENGINE_FAILED', `${where}: cannot read it (${why})`, { cause: err });
  }
  resolveHardlinks(byPath, links);
  dropMountPoints(byPath, opts.mountPoints ?? []);
  return [...byPath.values()];
}

function utf8(raw: string): string {
  return Buffer.from(raw, 'latin1').toString('utf8');
}

/**
 * Hard links whose target is in this layer are regrouped so that the first path of the group
 * in archive (sorted) order holds the content and the others link to it: an extractor then
 * always meets the file before its links. Links to lower layers stay as they are.
 */
function resolveHardlinks(byPath: Map<string, TarEntry>, links: readonly { path: string; target: string }[]): void {
  const root = (p: string): string => {
    for (let hops = 0; hops < 64; hops++) {
      const e = byPath.get(p);
      if (!e || e.type !== 'hardlink') return p;
      p = e.linkname!;
    }
    return p;
  };
  const groups = new Map<string, string[]>();
  for (const { path } of links) {
    const r = root(path);
    const holder = byPath.get(r);
    if (!holder || holder.type !== 'file' || r === path) continue;
    const g = groups.get(r) ?? [r];
    g.push(path);
    groups.set(r, g);
  }
  for (const [r, paths] of groups) {
    const content = byPath.get(r)!;
    const sorted = [...new Set(paths)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const first = sorted[0]!;
    for (const p of sorted) {
      const own = byPath.get(p)!;
      byPath.set(p, p === first ? { ...content, path: p } : { path: p, type: 'hardlink', linkname: first, mode: content.mode, uid: content.uid, gid: content.gid, mtime: own.mtime });
    }
  }
}

/** Removes empty mount-point files and dirs (deepest first), and dirs they alone filled. */
function dropMountPoints(byPath: Map<string, TarEntry>, mountPoints: readonly string[]): void {
  const deepestFirst = [...mountPoints].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const p of deepestFirst) {
    const e = byPath.get(p);
    if (!e) continue;
    const empty = e.type === 'file' ? (e.size ?? 0) === 0 && e.source === undefined : e.type === 'directory' && ![...byPath.keys()].some((k) => k.startsWith(`${p}/`));
    if (empty) byPath.delete(p);
  }
}

function cleanPath(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

function clamp(seconds: number, epoch: number): number {
  return Math.max(0, Math.min(seconds, epoch));
}

/**
 * The config an engine wrote, reduced to what the image spec defines, with fixed times. The
 * first history entries are `baseHistory`, the base's own as its config has them (times
 * included), as the native engine and BuildKit keep them: one Dockerfile, one digest.
 */
export function normalizeConfig(config: ImageConfig, diffIDs: readonly Digest[], baseHistory: readonly HistoryEntry[], epoch: number): ImageConfig {
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const out: ImageConfig = { created, architecture: config.architecture, os: config.os, rootfs: { type: 'layers', diff_ids: [...diffIDs] } };
  if (config.variant) out.variant = config.variant;
  if (config['os.version']) out['os.version'] = config['os.version'];
  if (config['os.features']?.length) out['os.features'] = config['os.features'];
  if (config.author) out.author = config.author;
  const container = normalizeContainerConfig(config.config ?? {});
  if (Object.keys(container).length) out.config = container;
  out.history = (config.history ?? []).map((h, i) => {
    if (i < baseHistory.length) return { ...baseHistory[i]! };
    const entry: HistoryEntry = { created };
    if (h.created_by) entry.created_by = canonicalCreatedBy(h.created_by);
    if (h.author) entry.author = h.author;
    if (h.empty_layer) entry.empty_layer = true;
    return entry;
  });
  return specOrder(out);
}

const KEY_ORDER = ['created', 'architecture', 'os', 'variant', 'os.version', 'os.features', 'author', 'config'];

/** A config's keys in one order (the spec's, other keys before rootfs and history), so every engine's config, the native one's too, encodes alike. */
export function specOrder(config: ImageConfig): ImageConfig {
  const c = config as unknown as Record<string, unknown>;
  const keys = [...KEY_ORDER.filter((k) => k in c), ...Object.keys(c).filter((k) => !KEY_ORDER.includes(k) && k !== 'rootfs' && k !== 'history'), 'rootfs', 'history'];
  return Object.fromEntries(keys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as unknown as ImageConfig;
}

function normalizeContainerConfig(c: ContainerConfig): ContainerConfig {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    let value: unknown = c[key];
    if (key === 'Labels' && value && typeof value === 'object') {
      const labels = Object.fromEntries(Object.entries(value as Record<string, string>).filter(([k]) => !ENGINE_LABELS.includes(k)));
      value = labels;
    }
    if (value === null || value === undefined || value === '' || value === false) continue;
    if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) continue;
    out[key] = value;
  }
  return out as ContainerConfig;
}

/**
 * One text per instruction, whichever engine wrote it: BuildKit records `RUN /bin/sh -c cmd #
 * buildkit` and `COPY src /dest # buildkit`; buildah and classic Docker `/bin/sh -c cmd` and
 * `/bin/sh -c #(nop) COPY file:<hash> in /dest ` (each hashing the files its own way). A RUN
 * keeps its command, a COPY or ADD becomes `COPY /dest`, anything else its instruction with
 * the engine's prefix and spacing dropped.
 */
export function canonicalCreatedBy(createdBy: string): string {
  const run = /^RUN (.*) # buildkit$/s.exec(createdBy);
  if (run) return run[1]!;
  const text = createdBy.replace(/ # buildkit$/, '').replace(/^\/bin\/sh -c #\(nop\)\s*/, '').trim();
  const copy = /^(COPY|ADD)\s.*?(\S+)$/.exec(text.split('\n')[0]!); // a heredoc's body aside
  if (copy) return `${copy[1]} ${copy[2]}`;
  return text.startsWith('/bin/sh -c ') ? text : text.replace(/\s+/g, ' ');
}

function engineOutput(opts: NormalizeOptions, what: string): OperationalError {
  return new OperationalError('ENGINE_FAILED', `${opts.engine} output: ${what}`);
}
