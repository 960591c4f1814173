/**
 * Crafted tars byte by byte (PAX local and global headers, GNU long names, any link), and GNU
 * tar extracting them as root inside a chroot: a fresh root per extraction holding a copy of
 * tar and its libraries, bait files and folders around the scratch folder /w/s, and a diff of
 * everything outside /w/s before and after. The chroot keeps even `tar --absolute-names`
 * (the least careful extractor) inside the sandbox, so nothing here can touch the host.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const BLOCK = 512;

export interface RawEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '5' directory, 'x' PAX, 'g' PAX global, 'L'/'K' GNU long name/link. */
  type: '0' | '1' | '2' | '5' | 'x' | 'g' | 'L' | 'K';
  linkname?: string;
  content?: string;
  /** Records of an 'x' or 'g' header. */
  pax?: Record<string, string>;
}

function octal(h: Buffer, off: number, len: number, value: number): void {
  h.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, 'latin1');
}

function paxRecords(pax: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(pax).map(([k, v]) => {
      const body = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(body) + 1;
      while (String(len).length + Buffer.byteLength(body) !== len) len++;
      return Buffer.from(`${len}${body}`);
    }),
  );
}

/** A tar of exactly these headers, in this order, ended by two zero blocks. */
export function rawTar(entries: RawEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    let data: Buffer;
    if (e.type === 'x' || e.type === 'g') data = paxRecords(e.pax ?? {});
    else if (e.type === 'L' || e.type === 'K') data = Buffer.from(`${e.content ?? ''}\0`, 'latin1');
    else data = Buffer.from(e.type === '0' ? (e.content ?? 'x') : '', 'latin1');
    const h = Buffer.alloc(BLOCK);
    h.write(e.name.slice(0, 100), 0, 'latin1');
    octal(h, 100, 8, e.type === '5' ? 0o755 : 0o644);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, data.length);
    octal(h, 136, 12, 0);
    h.write(e.type, 156, 'latin1');
    if (e.linkname) h.write(e.linkname.slice(0, 100), 157, 'latin1');
    h.write('ustar\u000000', 257, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    out.push(h, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  out.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(out);
}

export interface Extraction {
  /** Paths outside the scratch folder that appeared, changed or went away (relative to the chroot). */
  outside: string[];
  code: number;
  stderr: string;
}

/** Bait around the scratch folder /w/s: what `..` and absolute targets land on. */
const BAIT: [string, 'dir' | 'file'][] = [
  ['a', 'dir'],
  ['a/f', 'file'],
  ['b', 'file'],
  ['c', 'dir'],
  ['etc', 'dir'],
  ['etc/passwd', 'file'],
  ['w/a', 'dir'],
  ['w/a/f', 'file'],
  ['w/b', 'file'],
  ['w/c', 'dir'],
];

export class TarSandbox {
  private count = 0;

  private constructor(
    readonly dir: string,
    private readonly template: string,
  ) {}

  static async create(): Promise<TarSandbox> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tar-sandbox-'));
    const template = join(dir, 'template');
    const tar = execFileSync('which', ['tar']).toString().trim();
    const libs = execFileSync('ldd', [tar])
      .toString()
      .split('\n')
      .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    for (const file of [tar, ...libs]) {
      await mkdir(join(template, dirname(file)), { recursive: true });
      await cp(file, join(template, file), { dereference: true });
    }
    for (const [path, kind] of BAIT) {
      if (kind === 'dir') await mkdir(join(template, path), { recursive: true });
      else await writeFile(join(template, path), `bait ${path}\n`);
    }
    await mkdir(join(template, 'w', 's'), { recursive: true });
    return new TarSandbox(dir, template);
  }

  /**
   * GNU tar as root, `-xf layer -C /w/s`. `naive` adds --absolute-names (no stripping of `/`
   * and `..`, no delayed symlinks) and --keep-directory-symlink (a directory member naming a
   * symlink to a directory keeps it, as Go's os.MkdirAll does): the least careful extractor.
   */
  async extract(layer: Buffer, mode: 'gnu' | 'naive'): Promise<Extraction> {
    const root = join(this.dir, `root-${this.count++}`);
    await cp(this.template, root, { recursive: true, preserveTimestamps: true });
    await writeFile(join(root, 'layer.tar'), layer);
    const before = await snapshot(root);
    const args = [root, '/usr/bin/tar', ...(mode === 'naive' ? ['-P', '--keep-directory-symlink'] : []), '-xf', '/layer.tar', '-C', '/w/s'];
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('chroot', args, { timeout: 20_000 }, (err, _out, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
      });
    });
    const after = await snapshot(root);
    const outside = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p)).sort();
    await rm(root, { recursive: true, force: true });
    return { outside, code, stderr };
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Everything under `root` but the scratch folder: kind, mode, size, link count, mtime, bytes or link target. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      const rel = relative(root, p);
      if (rel === 'w/s' || rel.startsWith('w/s/')) continue;
      const s = await lstat(p);
      let what = `${s.mode.toString(8)} ${s.nlink} ${s.mtimeMs} ${s.uid}:${s.gid}`;
      if (s.isDirectory()) {
        out.set(rel, `dir ${what}`);
        await walk(p);
        continue;
      }
      if (s.isSymbolicLink()) what += ` -> ${await readlink(p)}`;
      else if (s.isFile()) what += ` ${s.size} ${rel === 'layer.tar' ? '' : createHash('sha256').update(await readFile(p)).digest('hex')}`;
      out.set(rel, what);
    }
  };
  const top = await lstat(root);
  out.set('.', `dir ${top.mode.toString(8)} ${top.nlink} ${top.mtimeMs} ${top.uid}:${top.gid}`);
  await walk(root);
  return out;
}
