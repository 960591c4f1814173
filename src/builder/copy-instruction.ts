import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { readFileHead } from '../blob/files.js';
import { headerChecksumMatches } from '../blob/tar-read.js';
import { describeElf, elfMatchesPlatform, formatElf } from '../oci/elf.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import type { TarEntry } from '../blob/tar.js';
import { applySymbolicMode, type CopyStep } from '../dockerfile/dispatch.js';
import { dockerfileError } from '../dockerfile/dockerfile-error.js';
import { BadPattern, hasMeta, matchingPaths, PatternList } from '../dockerfile/glob.js';
import { OperationalError, UsageError } from '../errors.js';
import { networkError, redactUrl as registryRedact, RegistryError } from '../registry/registry-error.js';
import { createTransport, DEFAULT_TIMEOUT_MS, header, send, type HttpResponse } from '../registry/http.js';
import { DEFAULT_RETRY, parseRetryAfter, withRetries, type RetryPolicy } from '../registry/retry.js';
import { FsTree, PathEscape, readMembers, type FsNode } from './rootfs.js';
import { runCapture } from '../util/children.js';

export interface CopyInput {
  step: CopyStep;
  /** The Dockerfile's name, for errors. */
  file: string;
  /** Where sources are read: the build context, or a stage's or image's file system. */
  from: FsTree;
  /** The stage's file system so far: existing folders keep their owner and mode; updated with what is copied. */
  target: FsTree;
  epoch: number;
  /** A scratch folder for downloads and extracted archives. */
  work: string;
  /** With `warn`: files copied that are ELF programs for another platform than this are warned of. */
  platform?: Platform;
  warn?: (line: string) => void;
  /** ADD <url>: how long the server may send nothing (ms) and how many bytes it may send. */
  fetchLimits?: FetchLimits;
}

export interface FetchLimits {
  idleMs?: number;
  maxBytes?: number;
  /** How temporary failures are tried again (`--retries`); the registry's policy by default. */
  retry?: Partial<RetryPolicy>;
}

/** ADD <url> defaults: 30 s without a byte, 1 GiB in all, the registry's retry policy. */
export const DEFAULT_FETCH_LIMITS: Required<FetchLimits> = { idleMs: DEFAULT_TIMEOUT_MS, maxBytes: 1 << 30, retry: {} };

/** A URL as it may be shown: a user name and password in it replaced by `***`. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

interface Item {
  dest: string;
  node: FsNode;
  /** Archive members keep their owners (unless --chown), as Docker extracts them. */
  keepOwner?: boolean;
  /** The destination folder of a folder copy: an existing one is left as it is, a new one made 0755, never --chmod'ed. */
  destFolder?: boolean;
}

/**
 * The entries of the one layer a COPY or ADD makes: what the sources name (globs, folders'
 * contents, files; ADD's local tar archives extracted, URLs fetched and checked against
 * --checksum) at the destination, with every parent folder, sorted by the tar writer.
 * Context sources must stay inside the context: `..`, absolute paths and symlinks that lead
 * out are refused.
 */
export async function copyEntries(input: CopyInput): Promise<TarEntry[]> {
  const { step, from, target } = input;
  const kw = step.add ? 'ADD' : 'COPY';
  const fail = (what: string) => dockerfileError(input.file, step.line, `${kw}: ${what}`);
  const isContext = from.kind === 'context';
  const owner = step.chown ? await resolveOwner(step.chown, target, fail) : undefined;
  const destRel = rel(step.dest);
  const destIsDir = step.destIsDir || target.get(safeResolve(target, destRel))?.type === 'directory';
  const items: Item[] = [];
  let downloads = 0;
  const several = () => fail('with several sources the destination must be a folder ending in /');
  if (step.sources.length + step.inline.length > 1 && !destIsDir) throw several();

  for (const doc of step.inline) {
    items.push({ dest: destIsDir ? posix.join(destRel, doc.name) : destRel, node: { type: 'file', mode: 0o644, uid: 0, gid: 0, source: Buffer.from(doc.content) } });
  }
  let excluded: PatternList | undefined;
  if (step.exclude?.length) {
    try {
      excluded = PatternList.fromPatterns(step.exclude, '--exclude');
    } catch (err) {
      if (err instanceof UsageError) throw fail(err.message);
      throw err;
    }
  }
  for (const source of step.sources) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@')) {
      const shown = redactUrl(source);
      if (!step.add) throw fail(`"${shown}": COPY takes no URLs (ADD does, with --checksum)`);
      if (!/^https?:\/\//i.test(source)) throw fail(`"${shown}": only http and https URLs are supported`);
      if (!step.checksum) throw fail(`"${shown}": ADD of a URL needs --checksum=sha256:<hex>, so the build is reproducible`);
      const path = join(input.work, `download-${step.line}-${downloads++}`);
      await download(source, step.checksum, path, fail, { ...DEFAULT_FETCH_LIMITS, ...input.fetchLimits });
      const name = posix.basename(new URL(source).pathname) || 'index.html';
      items.push({ dest: destIsDir ? posix.join(destRel, name) : destRel, node: { type: 'file', mode: 0o600, uid: 0, gid: 0, source: path, size: (await statSize(path)) } });
      continue;
    }
    if (step.checksum && step.add) throw fail('--checksum is only for URL sources');
    if (isContext && source.startsWith('/')) throw fail(`source "${source}" is an absolute path; sources are relative to the build context`);
    const clean = posix.normalize(source).replace(/\/+$/, '');
    if (isContext && (clean === '..' || clean.startsWith('../'))) throw fail(`source "${source}" is outside the build context`);
    const matches = hasMeta(clean) ? globMatches(from, clean, fail) : [clean === '.' || clean === '/' ? '' : clean.replace(/^\/+/, '')];
    if (matches.length === 0) throw fail(`no file in ${isContext ? 'the build context' : 'the source'} matches "${source}"`);
    if (matches.length > 1 && !destIsDir) throw several();
    // --parents keeps a source's folders: all of them, or those below a `/./` pivot.
    const pivot = source.indexOf('/./');
    const pivotPrefix = pivot < 0 ? '' : posix.normalize(source.slice(0, pivot)).replace(/^\.?\/*/, '');
    const kept = (match: string) => (pivotPrefix && match.startsWith(`${pivotPrefix}/`) ? match.slice(pivotPrefix.length + 1) : match);
    for (const match of matches) {
      if (excluded?.matches(match) || excluded?.matches(posix.basename(match))) continue;
      let resolved: string;
      try {
        resolved = from.resolve(match, true);
      } catch (err) {
        if (err instanceof PathEscape) throw fail(`source "${source}" ${err.message}`);
        throw err;
      }
      const node = from.get(resolved);
      if (!node) throw fail(`"${source}" not found in ${isContext ? 'the build context' : 'the source'}`);
      if (node.type === 'directory') {
        const under = step.parents ? posix.join(destRel, kept(match)) : destRel;
        if (under !== '') items.push({ dest: under, node: { type: 'directory', mode: 0o755, uid: 0, gid: 0 }, destFolder: true });
        for (const p of from.under(resolved)) {
          const inside = p.slice(resolved === '' ? 0 : resolved.length + 1);
          if (excluded?.matches(inside)) continue;
          items.push({ dest: posix.join(under, inside), node: linked(from, from.get(p)!) });
        }
        continue;
      }
      const dest = step.parents ? posix.join(destRel, kept(match)) : destIsDir ? posix.join(destRel, posix.basename(match)) : destRel;
      const fileNode = linked(from, node);
      const archive = step.add && fileNode.type === 'file' ? await asTarArchive(fileNode, input.work, `${step.line}-${downloads}`) : undefined;
      if (archive) {
        items.push(...(await extractArchive(archive, destRel, input.work, `${step.line}-${downloads++}`, fail, input.warn)));
      } else {
        items.push({ dest, node: fileNode });
      }
    }
  }

  if (input.platform && input.warn) {
    for (const { dest, node } of items) {
      if (node.type !== 'file') continue;
      const elf = describeElf(await readHead(node, 64));
      if (elf && !elfMatchesPlatform(elf, input.platform)) input.warn(`${input.file}:${step.line}: ${kw}: /${dest} is ${formatElf(elf)}, not a program for ${formatPlatform(input.platform)}, the image's platform`);
    }
  }

  const stamp = (item: Item): Pick<TarEntry, 'mode' | 'uid' | 'gid'> => ({
    mode: item.destFolder ? item.node.mode : step.chmod !== undefined ? step.chmod : step.chmodSymbolic !== undefined ? applySymbolicMode(step.chmodSymbolic, item.node.mode, item.node.type === 'directory') : item.node.mode,
    uid: owner?.uid ?? (isContext && !item.keepOwner ? 0 : item.node.uid),
    gid: owner?.gid ?? (isContext && !item.keepOwner ? 0 : item.node.gid),
  });
  // Where each destination lands: symlinked folders of the target (a merged-/usr base's /bin ->
  // usr/bin) are written through, as Docker and buildah do, never replaced.
  const placed = new Map<string, string>();
  const place = (dest: string, node: FsNode): string => {
    let at: string;
    try {
      at = target.resolve(dest, false);
      if (target.get(at)?.type === 'symlink') {
        // A folder goes through a link to a folder; a file through a link to anything but a
        // folder, as BuildKit and Docker write it (buildah replaces the link).
        const through = target.resolve(at, true);
        const isDir = target.get(through)?.type === 'directory';
        if (node.type === 'directory' ? isDir : node.type === 'file' && !isDir && through !== '') at = through;
      }
    } catch (err) {
      // A loop of links (Docker fails on it too): writing the path as it is would put a real
      // folder in place of a linked one such as /bin.
      if (err instanceof PathEscape) throw fail(`destination /${dest} ${err.message}`);
      throw err;
    }
    placed.set(dest, at);
    return at;
  };
  const entries = new Map<string, TarEntry>();
  // A file (or a link) where a folder must be is refused, as Docker, BuildKit and buildah fail
  // on it: replacing it would delete a file of the base (`COPY x /bin/sh/`). An archive's own
  // folders replace what is there, as Docker's untar does.
  const refuseNonFolder = (item: Item, path: string) => {
    const existing = entries.get(path) ?? target.get(path);
    if (existing && existing.type !== 'directory') throw fail(`destination /${item.dest}: /${path} is a ${existing.type}, not a folder`);
  };
  for (const item of items) {
    const { node } = item;
    if (item.dest === '') continue;
    const dest = place(item.dest, node);
    if (dest === '') continue;
    for (let dir = posix.dirname(dest); dir !== '.'; dir = posix.dirname(dir)) refuseNonFolder(item, dir);
    if (node.type === 'directory' && !item.keepOwner) refuseNonFolder(item, dest);
    if (item.destFolder) {
      const existing = target.get(dest);
      if (existing?.type === 'directory') {
        entries.set(dest, { path: dest, type: 'directory', mode: existing.mode, uid: existing.uid, gid: existing.gid, mtime: input.epoch });
        continue;
      }
    }
    const e: TarEntry = { path: dest, type: node.type, ...stamp(item), mtime: input.epoch };
    if (node.type === 'file') {
      if (node.source !== undefined) e.source = node.source;
      e.size = node.source !== undefined && typeof node.source !== 'string' && typeof node.source !== 'function' ? node.source.byteLength : (node.size ?? 0);
    }
    if (node.linkname !== undefined) e.linkname = node.linkname;
    entries.set(dest, e);
  }
  for (const e of entries.values()) if (e.type === 'hardlink' && e.linkname !== undefined) e.linkname = placed.get(e.linkname) ?? e.linkname;
  orderHardLinks(entries);
  // Every parent folder, as the layer diff of Docker holds them: existing ones as they are.
  for (const path of [...entries.keys()]) {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      if (entries.has(dir)) continue;
      const existing = target.get(dir);
      entries.set(dir, existing?.type === 'directory'
        ? { path: dir, type: 'directory', mode: existing.mode, uid: existing.uid, gid: existing.gid, mtime: input.epoch }
        : { path: dir, type: 'directory', mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, mtime: input.epoch });
    }
  }
  const out = [...entries.values()];
  for (const e of out) target.set(e.path, { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, ...(e.size !== undefined ? { size: e.size } : {}), ...(e.source !== undefined ? { source: e.source } : {}), ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) });
  return out;
}

/**
 * A hard link must come after the file it links to, and the tar writer sorts by name: in each
 * group of names for one file, the name sorting first holds the content and the others link
 * to it (GNU tar, umoci and podman refuse a link to a name not seen yet).
 */
export function orderHardLinks(entries: Map<string, TarEntry>): void {
  const groups = new Map<string, string[]>();
  for (const e of entries.values()) {
    if (e.type !== 'hardlink' || e.linkname === undefined) continue;
    let root = entries.get(e.linkname);
    for (let hops = 0; root?.type === 'hardlink' && root.linkname !== undefined && hops < 40; hops++) root = entries.get(root.linkname);
    if (root?.type !== 'file') continue;
    const names = groups.get(root.path) ?? [root.path];
    names.push(e.path);
    groups.set(root.path, names);
  }
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  for (const [file, names] of groups) {
    const first = [...names].sort(byBytes)[0]!;
    const content = entries.get(file)!;
    for (const name of names) {
      const e = entries.get(name)!;
      const { source: _s, size: _z, linkname: _l, ...meta } = e;
      if (name === first) entries.set(name, { ...meta, type: 'file', size: content.size ?? 0, ...(content.source !== undefined ? { source: content.source } : {}) });
      else entries.set(name, { ...meta, type: 'hardlink', linkname: first });
    }
  }
}

/** A hard link becomes a copy of the file it links to (its content read from there). */
function linked(tree: FsTree, node: FsNode): FsNode {
  if (node.type !== 'hardlink') return node;
  const target = tree.get(node.linkname ?? '');
  return target?.type === 'file' ? { ...target, mode: node.mode, uid: node.uid, gid: node.gid } : { ...node, type: 'file', size: 0 };
}

function safeResolve(tree: FsTree, path: string): string {
  try {
    return tree.resolve(path, true);
  } catch {
    return path;
  }
}

function rel(abs: string): string {
  return abs.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Tree paths a COPY source pattern matches (glob.ts), sorted. */
function globMatches(tree: FsTree, pattern: string, fail: (w: string) => Error): string[] {
  try {
    return matchingPaths(tree.nodes.keys(), pattern);
  } catch (err) {
    if (err instanceof BadPattern) throw fail(`syntax error in pattern "${pattern}": ${err.message}`);
    throw err;
  }
}

export async function resolveOwner(chown: { user: string; group?: string }, target: FsTree, fail: (w: string) => Error): Promise<{ uid: number; gid: number }> {
  const lookup = async (file: string, name: string, what: string): Promise<{ id: number; gid?: number }> => {
    if (/^\d+$/.test(name)) {
      if (Number(name) > 0x7fffffff) throw fail(`--chown=${chown.user}${chown.group !== undefined ? `:${chown.group}` : ''}: ${what} ID ${name} is out of range (at most 2147483647)`);
      return { id: Number(name) };
    }
    const text = (await target.readSmall(file))?.toString('utf8');
    if (text === undefined) throw fail(`--chown=${chown.user}${chown.group ? `:${chown.group}` : ''}: no ${file} in the image to look up ${what} "${name}"; give numbers`);
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return { id: Number(f[2]), ...(f[3] && /^\d+$/.test(f[3]) ? { gid: Number(f[3]) } : {}) };
    }
    throw fail(`--chown: ${what} "${name}" is not in the image's ${file}`);
  };
  const user = await lookup('etc/passwd', chown.user, 'user');
  const gid = chown.group !== undefined ? (await lookup('etc/group', chown.group, 'group')).id : (user.gid ?? user.id);
  return { uid: user.id, gid };
}

async function statSize(path: string): Promise<number> {
  const f = await open(path, 'r');
  try {
    return (await f.stat()).size;
  } finally {
    await f.close();
  }
}

/** The statuses a GET is redirected by; the Location is followed as fetch follows it, at most 20 times. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/**
 * Fetches `url` into `path`, hashing as it streams; the file is kept only when it matches
 * `checksum`. The request goes through berth's HTTP stack and retry policy, as a registry's
 * do (registry/http.ts, registry/retry.ts): the transport's idle timeout is the limit on a
 * server that sends nothing for `idleMs`; connection resets and 5xx/408/429 answers are tried
 * again. Credentials in the URL go in an Authorization header (to that origin only, not
 * after a redirect elsewhere) and are never shown; more than `maxBytes` is refused.
 */
async function download(url: string, checksum: string, path: string, fail: (w: string) => UsageError, limits: Required<FetchLimits>): Promise<void> {
  const shown = redactUrl(url);
  const start = new URL(url);
  let authorization: string | undefined;
  if (start.username || start.password) {
    authorization = `Basic ${Buffer.from(`${decodeURIComponent(start.username)}:${decodeURIComponent(start.password)}`).toString('base64')}`;
    start.username = '';
    start.password = '';
  }
  const silent = `the server sent nothing for ${Math.round(limits.idleMs / 1000)} s`;
  /** What went wrong last, as the one line shows it. */
  let why = '';
  /** A temporary failure (retried) or not, carrying `why`; a timeout keeps ETIMEDOUT as its cause, which the retry budget counts apart. */
  const failure = (target: URL, message: string, temporary: boolean, cause: unknown, status?: number, retryAfterMs?: number): RegistryError => {
    why = message;
    return new RegistryError('NETWORK', message, { method: 'GET', url: registryRedact(target), registryCodes: [], temporary, ...(status !== undefined ? { status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }, { cause });
  };
  const networkFailure = (target: URL, err: unknown): RegistryError => {
    const e = err instanceof RegistryError ? err : networkError('GET', target, err);
    const cause = (e.cause ?? err) as { code?: string; message?: string };
    if (cause?.code === 'ETIMEDOUT') return failure(target, silent, e.temporary, cause);
    return failure(target, `cannot fetch (${redactUrl(cause?.message ?? String(err))})`, e.temporary, cause);
  };

  const transport = createTransport({ maxSockets: 1, timeoutMs: limits.idleMs });
  try {
    await withRetries({ ...DEFAULT_RETRY, ...limits.retry }, `ADD ${shown}`, async () => {
      let target = start;
      let auth = authorization;
      let res: HttpResponse;
      for (let redirects = 0; ; redirects++) {
        try {
          res = await send(transport, { method: 'GET', url: target, headers: { 'user-agent': 'berth', ...(auth ? { authorization: auth } : {}) } });
        } catch (err) {
          throw networkFailure(target, err);
        }
        const location = REDIRECTS.has(res.status) ? header(res, 'location') : undefined;
        if (location === undefined) break;
        res.body.destroy();
        const next = new URL(location, target);
        if (redirects >= MAX_REDIRECTS || !/^https?:$/.test(next.protocol)) throw failure(target, `cannot fetch (${redirects >= MAX_REDIRECTS ? `more than ${MAX_REDIRECTS} redirects` : `redirected to ${next.protocol}`})`, false, undefined);
        if (next.origin !== target.origin) auth = undefined;
        target = next;
      }
      if (res.status < 200 || res.status > 299) {
        res.body.destroy();
        const temporary = res.status >= 500 || res.status === 408 || res.status === 429;
        throw failure(target, `the server answered ${res.status}`, temporary, undefined, res.status, parseRetryAfter(header(res, 'retry-after')));
      }
      const stated = Number(header(res, 'content-length') ?? NaN);
      if (stated > limits.maxBytes) {
        res.body.destroy();
        throw fail(`${shown}: the server sends ${stated} bytes, more than the limit of ${limits.maxBytes}`);
      }
      // The transport's idle timer ends a silent body by destroying its socket: told apart here from a reset.
      let idle = false;
      res.body.socket?.once('timeout', () => (idle = true));
      const hash = createHash('sha256');
      let total = 0;
      try {
        await pipeline(res.body, async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            total += chunk.length;
            if (total > limits.maxBytes) throw fail(`${shown}: the server sent more than the limit of ${limits.maxBytes} bytes`);
            hash.update(chunk);
            yield chunk;
          }
        }, createWriteStream(path));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        if (idle) throw failure(target, silent, true, Object.assign(new Error(silent), { code: 'ETIMEDOUT' }));
        throw networkFailure(target, err);
      }
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== checksum) throw fail(`${shown}: its content is ${got}, not the --checksum ${checksum}`);
    });
  } catch (err) {
    if (err instanceof RegistryError) throw new OperationalError('NETWORK', `ADD ${shown}: ${why || err.message}`, { cause: err });
    throw err;
  } finally {
    transport.close();
  }
}

type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** The compression of a file by its magic bytes, as Docker's DetectCompression reads it. */
function compressionOf(head: Buffer): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * A tar header as Go's tar reader (Docker's test) takes one: a checksum that adds up, of the
 * bytes unsigned or signed as tar-read.ts accepts it, and a name unless the ustar magic is
 * there. A file with the magic and a bad checksum is no archive: it is copied as it is.
 */
function isTarHeader(h: Buffer): boolean {
  if (h.length < 512 || (h[0] === 0 && h.subarray(257, 262).toString('latin1') !== 'ustar')) return false;
  return headerChecksumMatches(h);
}

/**
 * ADD's test for a local archive, as Docker's: a tar, plain or compressed with gzip, bzip2 or
 * xz (decompressed to a file in `work` for the last two). Anything else, a gzip of a file that
 * is not a tar included, is copied as it is. Returns the tar's bytes as a node, or undefined.
 */
async function asTarArchive(node: FsNode, work: string, tag: string): Promise<FsNode | undefined> {
  const head = await readHead(node, 64 << 10);
  const kind = compressionOf(head);
  if (kind === 'none') return isTarHeader(head) ? node : undefined;
  if (kind === 'zstd') return undefined;
  if (kind === 'gzip') {
    let inner: Buffer;
    try {
      inner = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return undefined;
    }
    return isTarHeader(inner) ? node : undefined;
  }
  const out = join(work, `decompressed-${tag}`);
  const input = typeof node.source === 'string' ? { inputFile: node.source } : { input: Buffer.from(node.source as Uint8Array) };
  const r = await runCapture({ cmd: kind, args: ['-dc'], ...input, stdoutFile: out });
  if (r.exitCode !== 0) return undefined;
  const tarNode: FsNode = { type: 'file', mode: node.mode, uid: node.uid, gid: node.gid, source: out, size: await statSize(out) };
  return isTarHeader(await readHead(tarNode, 512)) ? tarNode : undefined;
}

async function readHead(node: FsNode, n: number): Promise<Buffer> {
  if (node.source === undefined || typeof node.source === 'function') return Buffer.alloc(0);
  if (typeof node.source !== 'string') return Buffer.from(node.source.subarray(0, n));
  return readFileHead(node.source, n);
}

/** ADD of a local archive: its members under `dest`, read through berth's safe layer walk. */
async function extractArchive(node: FsNode, dest: string, work: string, tag: string, fail: (w: string) => UsageError, warn?: (line: string) => void): Promise<Item[]> {
  const src = typeof node.source === 'string' ? createReadStream(node.source) : Readable.from([Buffer.from(node.source as Uint8Array)]);
  let members;
  try {
    members = await readMembers(src, 'the archive', work, `archive-${tag}-`);
  } catch (err) {
    if (err instanceof UsageError) throw fail(err.message);
    throw err;
  }
  const items: Item[] = [];
  const dropped = members.filter((m) => m.type === 'other');
  if (dropped.length) warn?.(`${fail('').message.replace(/: $/, '')}: the archive's ${dropped.length === 1 ? 'member' : `${dropped.length} members`} ${dropped.slice(0, 3).map((m) => `/${m.path}`).join(', ')}${dropped.length > 3 ? ', ...' : ''} (device, FIFO or socket) left out: images built here hold no special files`);
  for (const m of members) {
    if (m.path === '' || m.type === 'other') continue;
    const path = posix.join(dest, m.path);
    const meta = { mode: m.mode, uid: m.uid, gid: m.gid };
    if (m.type === 'file') items.push({ dest: path, keepOwner: true, node: { type: 'file', ...meta, size: m.size, ...(m.source !== undefined ? { source: m.source } : {}) } });
    else if (m.type === 'directory') items.push({ dest: path, keepOwner: true, node: { type: 'directory', ...meta } });
    else if (m.type === 'symlink') items.push({ dest: path, keepOwner: true, node: { type: 'symlink', ...meta, linkname: m.linkname } });
    else items.push({ dest: path, keepOwner: true, node: { type: 'hardlink', ...meta, linkname: posix.join(dest, m.linkname) } });
  }
  return items;
}
