import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readFileHead } from '../blob/files.js';
import { describeElf, elfMatchesPlatform, formatElf } from '../oci/elf.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import type { TarEntry } from '../blob/tar.js';
import type { CopyStep } from '../dockerfile/dispatch.js';
import { dockerfileError } from '../dockerfile/errors.js';
import { OperationalError, UsageError } from '../errors.js';
import { FsTree, PathEscape, readMembers, type FsNode } from './rootfs.js';

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
}

interface Item {
  dest: string;
  node: FsNode;
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

  for (const doc of step.inline) {
    items.push({ dest: destIsDir ? posix.join(destRel, doc.name) : destRel, node: { type: 'file', mode: 0o644, uid: 0, gid: 0, source: Buffer.from(doc.content) } });
  }
  for (const source of step.sources) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@')) {
      if (!step.add) throw fail(`"${source}": COPY takes no URLs (ADD does, with --checksum)`);
      if (!/^https?:\/\//i.test(source)) throw fail(`"${source}": only http and https URLs are supported`);
      if (!step.checksum) throw fail(`"${source}": ADD of a URL needs --checksum=sha256:<hex>, so the build is reproducible`);
      const path = join(input.work, `download-${step.line}-${downloads++}`);
      await download(source, step.checksum, path, fail);
      const name = posix.basename(new URL(source).pathname) || 'index.html';
      items.push({ dest: destIsDir ? posix.join(destRel, name) : destRel, node: { type: 'file', mode: 0o600, uid: 0, gid: 0, source: path, size: (await statSize(path)) } });
      continue;
    }
    if (step.checksum && step.add) throw fail('--checksum is only for URL sources');
    if (isContext && source.startsWith('/')) throw fail(`source "${source}" is an absolute path; sources are relative to the build context`);
    const clean = posix.normalize(source).replace(/\/+$/, '');
    if (isContext && (clean === '..' || clean.startsWith('../'))) throw fail(`source "${source}" is outside the build context`);
    const matches = hasMeta(clean) ? globMatches(from, clean) : [clean === '.' || clean === '/' ? '' : clean.replace(/^\/+/, '')];
    if (matches.length === 0) throw fail(`no file in ${isContext ? 'the build context' : 'the source'} matches "${source}"`);
    const manyTargets = matches.length > 1 || step.sources.length + step.inline.length > 1;
    if (manyTargets && !destIsDir) throw fail('with several sources the destination must be a folder ending in /');
    for (const match of matches) {
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
        if (destRel !== '') items.push({ dest: destRel, node: { ...node, mode: 0o755 } });
        for (const p of from.under(resolved)) items.push({ dest: posix.join(destRel, p.slice(resolved === '' ? 0 : resolved.length + 1)), node: linked(from, from.get(p)!) });
        continue;
      }
      const dest = destIsDir || manyTargets ? posix.join(destRel, posix.basename(match)) : destRel;
      const fileNode = linked(from, node);
      if (step.add && fileNode.type === 'file' && (await isTarArchive(fileNode))) {
        items.push(...(await extractArchive(fileNode, destRel, input.work, `${step.line}-${downloads++}`, fail)));
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

  const stamp = (node: FsNode, forced: boolean): Pick<TarEntry, 'mode' | 'uid' | 'gid'> => ({
    mode: forced && step.chmod !== undefined ? step.chmod : node.mode,
    uid: owner?.uid ?? (isContext ? 0 : node.uid),
    gid: owner?.gid ?? (isContext ? 0 : node.gid),
  });
  const entries = new Map<string, TarEntry>();
  for (const { dest, node } of items) {
    if (dest === '') continue;
    const e: TarEntry = { path: dest, type: node.type, ...stamp(node, true), mtime: input.epoch };
    if (node.type === 'file') {
      if (node.source !== undefined) e.source = node.source;
      e.size = node.source !== undefined && typeof node.source !== 'string' && typeof node.source !== 'function' ? node.source.byteLength : (node.size ?? 0);
    }
    if (node.linkname !== undefined) e.linkname = node.linkname;
    entries.set(dest, e);
  }
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

const hasMeta = (p: string) => /[*?[]/.test(p);

/** Tree paths matching a glob (Go's filepath.Match: `*`, `?`, `[...]`, none crossing `/`), sorted. */
function globMatches(tree: FsTree, pattern: string): string[] {
  const clean = pattern.replace(/^\/+/, '');
  let re = '^';
  for (let i = 0; i < clean.length; i++) {
    const ch = clean[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = clean.indexOf(']', i + 1);
      if (end < 0) return [];
      re += `[${clean.slice(i + 1, end).replace(/^!/, '^')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < clean.length) re += `\\${clean[++i]}`;
    else re += /[.+(){}|^$\\]/.test(ch) ? `\\${ch}` : ch;
  }
  const regexp = new RegExp(`${re}$`);
  return [...tree.nodes.keys()].filter((k) => regexp.test(k)).sort();
}

async function resolveOwner(chown: { user: string; group?: string }, target: FsTree, fail: (w: string) => Error): Promise<{ uid: number; gid: number }> {
  const lookup = async (file: string, name: string, what: string): Promise<{ id: number; gid?: number }> => {
    if (/^\d+$/.test(name)) return { id: Number(name) };
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

/** Fetches `url` into `path`, hashing as it streams; the file is kept only when it matches `checksum`. */
async function download(url: string, checksum: string, path: string, fail: (w: string) => UsageError): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw new OperationalError('NETWORK', `ADD ${url}: cannot fetch (${(err as Error).message})`, { cause: err });
  }
  if (!res.ok || !res.body) throw new OperationalError('NETWORK', `ADD ${url}: the server answered ${res.status}`);
  const hash = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  await pipeline(body, async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      yield chunk;
    }
  }, createWriteStream(path));
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== checksum) throw fail(`${url}: its content is ${got}, not the --checksum ${checksum}`);
}

/** A tar archive (plain or gzip) by its content, as ADD recognises one. */
async function isTarArchive(node: FsNode): Promise<boolean> {
  const head = await readHead(node, 512);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

async function readHead(node: FsNode, n: number): Promise<Buffer> {
  if (node.source === undefined || typeof node.source === 'function') return Buffer.alloc(0);
  if (typeof node.source !== 'string') return Buffer.from(node.source.subarray(0, n));
  return readFileHead(node.source, n);
}

/** ADD of a local archive: its members under `dest`, read through berth's safe layer walk. */
async function extractArchive(node: FsNode, dest: string, work: string, tag: string, fail: (w: string) => UsageError): Promise<Item[]> {
  const src = typeof node.source === 'string' ? createReadStream(node.source) : Readable.from([Buffer.from(node.source as Uint8Array)]);
  let members;
  try {
    members = await readMembers(src, 'the archive', work, `archive-${tag}-`);
  } catch (err) {
    if (err instanceof UsageError) throw fail(err.message);
    throw err;
  }
  const items: Item[] = [];
  for (const m of members) {
    if (m.path === '' || m.type === 'other') continue;
    const path = posix.join(dest, m.path);
    const meta = { mode: m.mode, uid: m.uid, gid: m.gid };
    if (m.type === 'file') items.push({ dest: path, node: { type: 'file', ...meta, size: m.size, ...(m.source !== undefined ? { source: m.source } : {}) } });
    else if (m.type === 'directory') items.push({ dest: path, node: { type: 'directory', ...meta } });
    else if (m.type === 'symlink') items.push({ dest: path, node: { type: 'symlink', ...meta, linkname: m.linkname } });
    else items.push({ dest: path, node: { type: 'hardlink', ...meta, linkname: posix.join(dest, m.linkname) } });
  }
  return items;
}
