import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { copyEntries, orderHardLinks, redactUrl, resolveOwner } from '../../src/builder/copy-instruction.js';
import { FsTree, type FsNode } from '../../src/builder/rootfs.js';
import type { TarEntry } from '../../src/blob/tar.js';
import { dispatchStage, type CopyStep } from '../../src/dockerfile/dispatch.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/dockerfile/stage-plan.js';
import { UsageError } from '../../src/errors.js';
import { packTar, pseudoRandomBytes } from '../blob/helpers.js';
import { tempDir } from '../helpers/tools.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-copy-')));
afterAll(async () => cleanup());

const d = (mode = 0o755, uid = 0, gid = 0): FsNode => ({ type: 'directory', mode, uid, gid });
const f = (content: string, mode = 0o644, uid = 0, gid = 0): FsNode => ({ type: 'file', mode, uid, gid, size: Buffer.byteLength(content), source: Buffer.from(content) });
const l = (target: string): FsNode => ({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: target });

function tree(kind: 'context' | 'rootfs', nodes: Record<string, FsNode>): FsTree {
  const t = new FsTree(kind);
  for (const [p, n] of Object.entries(nodes)) t.nodes.set(p, n);
  return t;
}

/** A merged-/usr base as Debian 12 has it, with a user app. */
function mergedBase(): FsTree {
  return tree('rootfs', {
    usr: d(), 'usr/bin': d(), 'usr/bin/sh': f('sh', 0o755), 'usr/lib': d(), 'usr/sbin': d(),
    bin: l('usr/bin'), lib: l('usr/lib'), sbin: l('usr/sbin'),
    etc: d(), 'etc/passwd': f('root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'), 'etc/group': f('root:x:0:\napp:x:1000:\nstaff:x:50:\n'),
    home: d(), 'home/app': d(0o750, 1000, 1000),
  });
}

/** The COPY/ADD steps of a one-stage Dockerfile, expanded by dispatch as the native engine gets them. */
function steps(text: string): CopyStep[] {
  const df = parseDockerfile(text, 'Dockerfile');
  const plan = planBuild({ dockerfile: df, platform: amd64, buildPlatform: amd64, buildArgs: {}, contextNames: new Set() });
  return dispatchStage(df, plan.target, {}).ops.flatMap((op) => (op.layer?.kind === 'copy' ? [op.layer] : []));
}

async function copy(text: string, from: FsTree, target: FsTree): Promise<string[]> {
  const out: string[] = [];
  for (const step of steps(text)) {
    const entries = await copyEntries({ step, file: 'Dockerfile', from, target, epoch: 0, work: dir });
    out.push(...show(entries));
  }
  return out.sort();
}

function show(entries: TarEntry[]): string[] {
  return entries.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}${e.linkname !== undefined ? ` -> ${e.linkname}` : ''}${e.type === 'file' && e.source instanceof Uint8Array ? ` ${Buffer.from(e.source).toString()}` : ''}`);
}

const context = () => tree('context', { 'tool': f('tool', 0o755), dir: d(), 'dir/a.conf': f('a'), 'dir/sub': d(), 'dir/sub/b': f('b'), 'x.txt': f('x') });

describe('copyEntries on a merged-/usr base', () => {
  it('writes COPY tool /bin/tool through the /bin -> usr/bin link and leaves /bin a link', async () => {
    const target = mergedBase();
    expect(await copy('FROM scratch\nCOPY tool /bin/tool\n', context(), target)).toEqual(['usr bin 755 0:0'.replace(' bin ', ' directory '), 'usr/bin directory 755 0:0', 'usr/bin/tool file 755 0:0 tool']);
    expect(target.get('bin')).toEqual(l('usr/bin'));
    expect(target.get('usr/bin/sh')?.type).toBe('file');
  });

  it('writes a folder copied to /lib/ through the link, and a nested destination under /sbin', async () => {
    const target = mergedBase();
    const got = await copy('FROM scratch\nCOPY dir/ /lib/\nCOPY tool /sbin/x/tool\n', context(), target);
    expect(got).toContain('usr/lib/a.conf file 644 0:0 a');
    expect(got).toContain('usr/sbin/x/tool file 755 0:0 tool');
    expect(got.filter((e) => /^(lib|sbin)[ /]/.test(e))).toEqual([]);
    expect(target.get('lib')?.type).toBe('symlink');
  });

  it('writes a file copied onto a symlink through it (as BuildKit), and replaces a link to a folder named as a file destination never', async () => {
    const target = tree('rootfs', { bin: d(), 'bin/busybox': f('bb', 0o755), 'bin/sh': l('busybox') });
    expect(await copy('FROM scratch\nCOPY tool /bin/sh\n', context(), target)).toEqual(['bin directory 755 0:0', 'bin/busybox file 755 0:0 tool']);
    expect(target.get('bin/sh')).toEqual(l('busybox'));
  });
});

describe('copyEntries: destinations, owners and modes as Docker has them', () => {
  it('COPY dir /home/app/ keeps the existing folder\'s mode and owner; only the contents are new', async () => {
    const got = await copy('FROM scratch\nCOPY dir /home/app/\n', context(), mergedBase());
    expect(got).toContain('home/app directory 750 1000:1000');
    expect(got).toContain('home/app/a.conf file 644 0:0 a');
  });

  it('COPY --chown=app:app . . does not hand the WORKDIR itself to app', async () => {
    const got = await copy('FROM scratch\nWORKDIR /home/app\nCOPY --chown=app:staff dir/ .\n', context(), mergedBase());
    expect(got).toContain('home/app directory 750 1000:1000');
    expect(got).toContain('home/app/a.conf file 644 1000:50 a');
    expect(got).toContain('home/app/sub directory 755 1000:50');
  });

  it('takes the destination\'s trailing slash: /x is the file, /x/ a folder holding it', async () => {
    expect(await copy('FROM scratch\nCOPY x.txt /x\n', context(), new FsTree('rootfs'))).toEqual(['x file 644 0:0 x']);
    expect(await copy('FROM scratch\nCOPY x.txt /x/\n', context(), new FsTree('rootfs'))).toEqual(['x directory 755 0:0', 'x/x.txt file 644 0:0 x']);
    // An existing folder of that name takes the file in, slash or not.
    expect(await copy('FROM scratch\nCOPY x.txt /home\n', context(), mergedBase())).toEqual(['home directory 755 0:0', 'home/x.txt file 644 0:0 x']);
  });

  it('COPY --chmod on a folder leaves the new destination folder 0755 and sets what is inside', async () => {
    const got = await copy('FROM scratch\nCOPY --chmod=0640 dir /conf\n', context(), new FsTree('rootfs'));
    expect(got).toContain('conf directory 755 0:0');
    expect(got).toContain('conf/a.conf file 640 0:0 a');
  });

  it('symbolic --chmod applies to each entry\'s own mode, X only to folders and executables', async () => {
    const got = await copy('FROM scratch\nCOPY --chmod=go-r,a+X dir/ tool /m/\n', context(), new FsTree('rootfs'));
    expect(got).toContain('m/a.conf file 600 0:0 a');
    expect(got).toContain('m/tool file 711 0:0 tool');
    expect(got).toContain('m/sub directory 711 0:0');
  });

  it('COPY --from a stage\'s folder gives a new destination 0:0 (not the source folder\'s owner), its contents their own', async () => {
    const stage = tree('rootfs', { out: d(0o700, 1000, 1000), 'out/f': f('f', 0o600, 1000, 1000) });
    const got = await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /out /new\n', stage, new FsTree('rootfs'));
    expect(got).toEqual(['new directory 755 0:0', 'new/f file 600 1000:1000 f']);
  });

  it('refuses an owner ID beyond 2^31-1 as --owner does, and a reversed glob range, each one line', async () => {
    await expect(copy('FROM scratch\nCOPY --chown=99999999999 x.txt /x\n', context(), new FsTree('rootfs'))).rejects.toThrow(new UsageError('BAD_DOCKERFILE', 'Dockerfile:2: COPY: --chown=99999999999: user ID 99999999999 is out of range (at most 2147483647)'));
    await expect(copy('FROM scratch\nCOPY [z-a] /x/\n', context(), new FsTree('rootfs'))).rejects.toThrow(/^Dockerfile:2: COPY: syntax error in pattern "\[z-a\]": the range z-a runs backwards$/);
  });

  it('matches glob classes as Docker does: [^a] negates, [!a] is a class of ! and a (filepath.Match)', async () => {
    const ctx = tree('context', { 'a.txt': f('a'), 'b.txt': f('b') });
    expect(await copy('FROM scratch\nCOPY [!a].txt /g/\n', ctx, new FsTree('rootfs'))).toEqual(['g directory 755 0:0', 'g/a.txt file 644 0:0 a']);
    expect(await copy('FROM scratch\nCOPY [^b].txt /g/\n', ctx, new FsTree('rootfs'))).toEqual(['g directory 755 0:0', 'g/a.txt file 644 0:0 a']);
  });
});

describe('copyEntries: --parents and --exclude, as BuildKit\'s docs show them', () => {
  const src = () => tree('context', { x: { type: 'directory', mode: 0o755, uid: 0, gid: 0 }, 'x/a.txt': f('xa'), y: { type: 'directory', mode: 0o755, uid: 0, gid: 0 }, 'y/a.txt': f('ya'), 'y/b.md': f('yb'), 'y/z': { type: 'directory', mode: 0o755, uid: 0, gid: 0 }, 'y/z/c.txt': f('c') });

  it('--parents keeps each source\'s folders under the destination, or those below a /./ pivot', async () => {
    expect(await copy('FROM scratch\nCOPY --parents ./x/a.txt ./y/a.txt /p/\n', src(), new FsTree('rootfs'))).toEqual(['p directory 755 0:0', 'p/x directory 755 0:0', 'p/x/a.txt file 644 0:0 xa', 'p/y directory 755 0:0', 'p/y/a.txt file 644 0:0 ya']);
    expect(await copy('FROM scratch\nCOPY --parents ./y/./z/*.txt /p/\n', src(), new FsTree('rootfs'))).toEqual(['p directory 755 0:0', 'p/z directory 755 0:0', 'p/z/c.txt file 644 0:0 c']);
    expect(await copy('FROM scratch\nCOPY x/a.txt y/a.txt /flat/\n', src(), new FsTree('rootfs'))).toEqual(['flat directory 755 0:0', 'flat/a.txt file 644 0:0 ya']);
  });

  it('--exclude leaves out matching files below a copied folder and matching glob results, ** crossing folders', async () => {
    expect(await copy('FROM scratch\nCOPY --exclude=*.md --exclude=**/c.txt y /e/\n', src(), new FsTree('rootfs'))).toEqual(['e directory 755 0:0', 'e/a.txt file 644 0:0 ya', 'e/z directory 755 0:0']);
    expect(await copy('FROM scratch\nCOPY --exclude=x y/* /g/\n', src(), new FsTree('rootfs'))).toContain('g/b.md file 644 0:0 yb');
    await expect(copy('FROM scratch\nCOPY --exclude=[z-a] y /e/\n', src(), new FsTree('rootfs'))).rejects.toThrow(/^Dockerfile:2: COPY: --exclude: syntax error in pattern "\[z-a\]"/);
  });
});

describe('copyEntries: ADD of local archives', () => {
  const add = async (name: string, bytes: Buffer, dest = '/x/') => {
    const ctx = tree('context', { [name]: { ...f(''), size: bytes.length, source: bytes } });
    return copy(`FROM scratch\nADD ${name} ${dest}\n`, ctx, new FsTree('rootfs'));
  };

  it('keeps the archive\'s owners and modes (Docker does), for tar and tar.gz', async () => {
    const tar = await packTar([{ name: 'd/', type: 'directory', uid: 1000, gid: 1000 }, { name: 'd/f', content: 'f', uid: 7, gid: 8, mode: 0o640 }]);
    for (const [name, bytes] of [['p.tar', tar], ['p.tgz', gzipSync(tar)]] as const) {
      expect(await add(name, bytes)).toEqual(['x directory 755 0:0', 'x/d directory 755 1000:1000', 'x/d/f file 640 7:8 f']);
    }
  });

  it('extracts bzip2 and xz archives as Docker does', async () => {
    const src = join(dir, 'bz');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'f'), 'f');
    for (const [flag, name] of [['--bzip2', 'p.tar.bz2'], ['--xz', 'p.txz']] as const) {
      const bytes = execFileSync('tar', ['-c', flag, '--owner=0', '--group=0', '--numeric-owner', '-C', src, 'f']);
      expect(await add(name, bytes)).toEqual(['x directory 755 0:0', 'x/f file 644 0:0 f']);
    }
  });

  it('copies a gzip file that holds no tar as it is (Docker does; it was exit 2)', async () => {
    const gz = gzipSync(Buffer.from('just text\n'));
    const got = await add('note.gz', gz);
    expect(got).toHaveLength(2);
    expect(got[1]).toMatch(/^x\/note\.gz file 644 0:0/);
  });

  it('gives a hard link that sorts before its target a layer GNU tar applies: the first name holds the content', async () => {
    const tar = await packTar([{ name: 'z-target', content: 'content' }, { name: 'a-link', type: 'link', linkname: 'z-target' }]);
    expect(await add('links.tar', tar)).toEqual(['x directory 755 0:0', 'x/a-link file 644 0:0 content', 'x/z-target hardlink 644 0:0 -> x/a-link']);
  });

  it('warns of device nodes and FIFOs it leaves out, naming them', async () => {
    const tar = await packTar([{ name: 'f', content: 'f' }, { name: 'fifo', type: 'fifo' }, { name: 'null', type: 'character-device' }]);
    const warnings: string[] = [];
    const ctx = tree('context', { 'p.tar': { ...f(''), size: tar.length, source: tar } });
    const [step] = steps('FROM scratch\nADD p.tar /x/\n');
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: ctx, target: new FsTree('rootfs'), epoch: 0, work: dir, warn: (w) => warnings.push(w) });
    expect(show(entries).sort()).toEqual(['x directory 755 0:0', 'x/f file 644 0:0 f']);
    expect(warnings).toEqual(['Dockerfile:2: ADD: the archive\'s 2 members /fifo, /null (device, FIFO or socket) left out: images built here hold no special files']);
  });
});

describe('orderHardLinks', () => {
  it('makes the name sorting first the file and points every other name of the group at it', () => {
    const e = (path: string, more: Partial<TarEntry>): [string, TarEntry] => [path, { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, ...more }];
    const m = new Map([e('m', { size: 1, source: Buffer.from('x') }), e('b', { type: 'hardlink', linkname: 'm' }), e('z', { type: 'hardlink', linkname: 'b' })]);
    orderHardLinks(m);
    expect(show([...m.values()]).sort()).toEqual(['b file 644 0:0 x', 'm hardlink 644 0:0 -> b', 'z hardlink 644 0:0 -> b']);
  });
});

describe('redactUrl', () => {
  it('hides a user and password in a URL, and nothing else', () => {
    expect(redactUrl('https://user:secret@example.com/x?y=1')).toBe('https://***@example.com/x?y=1');
    expect(redactUrl('https://example.com/a@b')).toBe('https://example.com/a@b');
  });
});

/** The one-line message of the UsageError (exit 2) a copy ends in; any other outcome fails the test. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a UsageError');
}

/** copyEntries of a CopyStep written out (what dispatch would hand over), with the defaults of a COPY x /x. */
async function copyStep(more: Partial<CopyStep>, from: FsTree, target = new FsTree('rootfs'), extra: { warn?: (w: string) => void; platform?: { os: string; architecture: string } } = {}): Promise<string[]> {
  const step: CopyStep = { kind: 'copy', add: false, line: 3, from: { kind: 'build-context' }, sources: ['x.txt'], inline: [], dest: '/x', destIsDir: false, ...more };
  return show(await copyEntries({ step, file: 'Dockerfile', from, target, epoch: 0, work: dir, ...extra })).sort();
}

describe('copyEntries: sources that are refused, each with its one line', () => {
  it('names COPY or ADD, the line, and what is wrong with a URL source, its password hidden', async () => {
    expect(await refusal(copy('FROM scratch\nCOPY https://u:pw@example.com/x /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: "https://***@example.com/x": COPY takes no URLs (ADD does, with --checksum)');
    expect(await refusal(copy('FROM scratch\nCOPY HTTP://example.com/x /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: "HTTP://example.com/x": COPY takes no URLs (ADD does, with --checksum)');
    expect(await refusal(copy('FROM scratch\nCOPY git@github.com:o/r.git /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: "git@github.com:o/r.git": COPY takes no URLs (ADD does, with --checksum)');
    expect(await refusal(copy('FROM scratch\nADD ftp://u:pw@example.com/http://x /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: ADD: "ftp://***@example.com/http://x": only http and https URLs are supported');
    expect(await refusal(copy('FROM scratch\nADD git@github.com:o/r.git /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: ADD: "git@github.com:o/r.git": only http and https URLs are supported');
    expect(await refusal(copy('FROM scratch\nADD http://example.com/x /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: ADD: "http://example.com/x": ADD of a URL needs --checksum=sha256:<hex>, so the build is reproducible');
  });

  it('takes a name that only holds "://" after its start for a path, and a name ending in git@ too', async () => {
    expect(await refusal(copy('FROM scratch\nCOPY 1ab://x /d/\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: "1ab://x" not found in the build context');
    const ctx = tree('context', { 'me-git@': f('g') });
    expect(await copy('FROM scratch\nCOPY me-git@ /d/\n', ctx, new FsTree('rootfs'))).toEqual(['d directory 755 0:0', 'd/me-git@ file 644 0:0 g']);
  });

  it('refuses --checksum with a local source, an absolute path or .. in the context, and a name that is not there', async () => {
    const sum = `sha256:${'a'.repeat(64)}`;
    expect(await refusal(copy(`FROM scratch\nADD --checksum=${sum} x.txt /x\n`, context(), new FsTree('rootfs')))).toBe('Dockerfile:2: ADD: --checksum is only for URL sources');
    expect(await refusal(copy('FROM scratch\nCOPY /x.txt /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: source "/x.txt" is an absolute path; sources are relative to the build context');
    expect(await refusal(copy('FROM scratch\nCOPY ../x.txt /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: source "../x.txt" is outside the build context');
    expect(await refusal(copy('FROM scratch\nCOPY dir/../.. /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: source "dir/../.." is outside the build context');
    expect(await refusal(copy('FROM scratch\nCOPY nope /x\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: "nope" not found in the build context');
    expect(await refusal(copy('FROM scratch\nADD *.nope /x/\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: ADD: no file in the build context matches "*.nope"');
    expect(await refusal(copy('FROM scratch\nCOPY [z-a] /x/\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: syntax error in pattern "[z-a]": the range z-a runs backwards');
    expect(await refusal(copy('FROM scratch\nCOPY --exclude=[z-a] dir /e/\n', context(), new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: --exclude: syntax error in pattern "[z-a]": the range z-a runs backwards');
  });

  it('from a stage, takes absolute paths and .. (which stops at the root), and says "the source" when nothing is there', async () => {
    const stage = tree('rootfs', { out: d(0o700, 1000, 1000), 'out/f': f('f', 0o600, 7, 8) });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /out/f /g\n', stage, new FsTree('rootfs'))).toEqual(['g file 600 7:8 f']);
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b ../../out/f /g\n', stage, new FsTree('rootfs'))).toEqual(['g file 600 7:8 f']);
    expect(await refusal(copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /nope /g\n', stage, new FsTree('rootfs')))).toBe('Dockerfile:3: COPY: "/nope" not found in the source');
    expect(await refusal(copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /*.nope /g/\n', stage, new FsTree('rootfs')))).toBe('Dockerfile:3: COPY: no file in the source matches "/*.nope"');
  });

  it('refuses a context symlink that leads out, naming the link and where it points', async () => {
    const ctx = tree('context', { up: l('../secret'), abs: l('/etc/passwd'), inner: l('dir/f'), dir: d(), 'dir/f': f('in') });
    expect(await refusal(copy('FROM scratch\nCOPY up /x\n', ctx, new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: source "up" goes through symlink up -> ../secret, which leads outside the build context');
    expect(await refusal(copy('FROM scratch\nCOPY abs /x\n', ctx, new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: source "abs" goes through symlink abs -> /etc/passwd, which leads outside the build context');
    expect(await copy('FROM scratch\nCOPY inner /x\n', ctx, new FsTree('rootfs'))).toEqual(['x file 644 0:0 in']);
  });

  it('with several sources or glob matches and a destination that is no folder: one line', async () => {
    const ctx = tree('context', { 'a.txt': f('a'), 'b.txt': f('b'), 'x.txt': f('x') });
    expect(await refusal(copy('FROM scratch\nCOPY *.txt /x\n', ctx, new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: with several sources the destination must be a folder ending in /');
    expect(await refusal(copyStep({ sources: ['a.txt', 'b.txt'] }, ctx))).toBe('Dockerfile:3: COPY: with several sources the destination must be a folder ending in /');
    expect(await refusal(copyStep({ sources: ['a.txt'], inline: [{ name: 'EOT', content: 'i' }] }, ctx))).toBe('Dockerfile:3: COPY: with several sources the destination must be a folder ending in /');
    // One glob match is one source: it becomes the destination file.
    expect(await copy('FROM scratch\nCOPY a.t?t /y\n', ctx, new FsTree('rootfs'))).toEqual(['y file 644 0:0 a']);
    // Written in the Dockerfile, as Docker's classic builder refuses it (BuildKit 0.8 keeps the last source as the file /m).
    expect(await refusal(copy('FROM scratch\nCOPY a.txt b.txt /m\n', ctx, new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: with several sources the destination must be a folder ending in /');
    expect(await refusal(copy('FROM scratch\nCOPY <<A <<B /m\na\nA\nb\nB\n', ctx, new FsTree('rootfs')))).toBe('Dockerfile:2: COPY: with several sources the destination must be a folder ending in /');
    // A folder that is there takes them, as in BuildKit and buildah.
    expect(await copy('FROM scratch\nCOPY a.txt b.txt /opt\n', ctx, tree('rootfs', { opt: d() }))).toEqual(['opt directory 755 0:0', 'opt/a.txt file 644 0:0 a', 'opt/b.txt file 644 0:0 b']);
  });
});

describe('copyEntries: what lands where, with which mode and owner', () => {
  const src = () => tree('context', { y: d(), 'y/a.txt': f('ya'), 'y/b.md': f('yb'), 'y/z': d(), 'y/z/c.txt': f('c') });

  it('puts a heredoc at a file destination, or by its name in a folder one, 0644 root-owned unless told', async () => {
    expect(await copy('FROM scratch\nCOPY <<EOT /h.sh\nhi\nEOT\n', context(), new FsTree('rootfs'))).toEqual(['h.sh file 644 0:0 hi\n']);
    expect(await copy('FROM scratch\nCOPY <<EOT /d/\nhi\nEOT\n', context(), new FsTree('rootfs'))).toEqual(['d directory 755 0:0', 'd/EOT file 644 0:0 hi\n']);
    expect(await copy('FROM scratch\nCOPY --chmod=750 --chown=5:6 <<EOT x.txt /both/\nhi\nEOT\n', context(), new FsTree('rootfs'))).toEqual(['both directory 755 5:6', 'both/EOT file 750 5:6 hi\n', 'both/x.txt file 750 5:6 x']);
  });

  it('copies the whole context with ., and a folder\'s contents (never the root itself) with /', async () => {
    expect(await copy('FROM scratch\nCOPY . /all/\n', context(), new FsTree('rootfs'))).toEqual(['all directory 755 0:0', 'all/dir directory 755 0:0', 'all/dir/a.conf file 644 0:0 a', 'all/dir/sub directory 755 0:0', 'all/dir/sub/b file 644 0:0 b', 'all/tool file 755 0:0 tool', 'all/x.txt file 644 0:0 x']);
    expect(await copy('FROM scratch\nCOPY dir /\n', context(), new FsTree('rootfs'))).toEqual(['a.conf file 644 0:0 a', 'sub directory 755 0:0', 'sub/b file 644 0:0 b']);
    const stage = tree('rootfs', { s: d(0o700, 3, 3), 's/f': f('f', 0o600, 3, 3) });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b / /r/\n', stage, new FsTree('rootfs'))).toEqual(['r directory 755 0:0', 'r/s directory 700 3:3', 'r/s/f file 600 3:3 f']);
  });

  it('--exclude takes a glob result out by its path or by its base name (a matched folder gives its contents, as Docker)', async () => {
    expect(await copy('FROM scratch\nCOPY --exclude=b.md y/* /g/\n', src(), new FsTree('rootfs'))).toEqual(['g directory 755 0:0', 'g/a.txt file 644 0:0 ya', 'g/c.txt file 644 0:0 c']);
    expect(await copy('FROM scratch\nCOPY --exclude=y/a.txt y/* /g/\n', src(), new FsTree('rootfs'))).toEqual(['g directory 755 0:0', 'g/b.md file 644 0:0 yb', 'g/c.txt file 644 0:0 c']);
    expect(await copy('FROM scratch\nCOPY --exclude=z y /g/\n', src(), new FsTree('rootfs'))).toEqual(['g directory 755 0:0', 'g/a.txt file 644 0:0 ya', 'g/b.md file 644 0:0 yb']);
  });

  it('--parents keeps a copied folder\'s path, and a stage\'s absolute source below its /./ pivot', async () => {
    expect(await copy('FROM scratch\nCOPY --parents y/z /p/\n', src(), new FsTree('rootfs'))).toEqual(['p directory 755 0:0', 'p/y directory 755 0:0', 'p/y/z directory 755 0:0', 'p/y/z/c.txt file 644 0:0 c']);
    const stage = tree('rootfs', { y: d(), 'y/z': d(), 'y/z/c.txt': f('c') });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b --parents /y/./z/c.txt /p/\n', stage, new FsTree('rootfs'))).toEqual(['p directory 755 0:0', 'p/z directory 755 0:0', 'p/z/c.txt file 644 0:0 c']);
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b --parents /y/z/c.txt /p/\n', stage, new FsTree('rootfs'))).toEqual(['p directory 755 0:0', 'p/y directory 755 0:0', 'p/y/z directory 755 0:0', 'p/y/z/c.txt file 644 0:0 c']);
  });

  it('makes context files root-owned whatever their owner, and --chmod=000 mode 0', async () => {
    const ctx = tree('context', { 'o.txt': f('o', 0o640, 5, 6) });
    expect(await copy('FROM scratch\nCOPY o.txt /o\n', ctx, new FsTree('rootfs'))).toEqual(['o file 640 0:0 o']);
    expect(await copy('FROM scratch\nCOPY --chmod=000 o.txt /o\n', ctx, new FsTree('rootfs'))).toEqual(['o file 0 0:0 o']);
    expect(await copy('FROM scratch\nCOPY --chown=0:0 --chmod=4755 o.txt /o\n', ctx, new FsTree('rootfs'))).toEqual(['o file 4755 0:0 o']);
  });

  it('gives --chown\'s owner to new parent folders and a new destination folder, never to existing ones', async () => {
    expect(await copy('FROM scratch\nCOPY --chown=app x.txt /a/b/x\n', context(), mergedBase())).toEqual(['a directory 755 1000:1000', 'a/b directory 755 1000:1000', 'a/b/x file 644 1000:1000 x']);
    expect(await copy('FROM scratch\nCOPY --chown=7:8 dir /new\n', context(), new FsTree('rootfs'))).toEqual(['new directory 755 7:8', 'new/a.conf file 644 7:8 a', 'new/sub directory 755 7:8', 'new/sub/b file 644 7:8 b']);
    expect(await copy('FROM scratch\nCOPY --chown=7:8 x.txt /home/app/deep/x\n', context(), mergedBase())).toEqual(['home directory 755 0:0', 'home/app directory 750 1000:1000', 'home/app/deep directory 755 7:8', 'home/app/deep/x file 644 7:8 x']);
  });

  it('refuses a folder onto a file and a file under a file, as Docker, BuildKit and buildah do (conformance: copy-dir-onto-file)', async () => {
    const target = tree('rootfs', { conf: f('old'), a: f('old') });
    const ctx = tree('context', { ...Object.fromEntries(context().nodes), empty: d() });
    expect(await refusal(copy('FROM scratch\nCOPY dir /conf\n', ctx, target))).toBe('Dockerfile:2: COPY: destination /conf: /conf is a file, not a folder');
    expect(await refusal(copy('FROM scratch\nCOPY empty /conf\n', ctx, target))).toBe('Dockerfile:2: COPY: destination /conf: /conf is a file, not a folder');
    expect(await refusal(copy('FROM scratch\nCOPY x.txt /a/x\n', ctx, target))).toBe('Dockerfile:2: COPY: destination /a/x: /a is a file, not a folder');
    expect(target.get('conf')).toEqual(f('old'));
  });

  it('lets an archive\'s own folder replace a file, as Docker\'s untar does, and write under it', async () => {
    const tar = await packTar([{ name: 'conf/', type: 'directory' }, { name: 'conf/f', content: 'c' }]);
    const target = tree('rootfs', { conf: f('old') });
    expect(await copy('FROM scratch\nADD p.tar /\n', tree('context', { 'p.tar': { ...f(''), size: tar.length, source: tar } }), target)).toEqual(['conf directory 755 0:0', 'conf/f file 644 0:0 c']);
  });

  it('records what it wrote in the stage\'s tree: type, mode, owner, size, content and link', async () => {
    const stage = tree('rootfs', { s: d(), 's/f': f('five!', 0o600, 3, 4), 's/l': l('f') });
    const target = new FsTree('rootfs');
    await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /s /t\n', stage, target);
    expect(target.get('t')).toEqual(d());
    expect(target.get('t/f')).toEqual({ type: 'file', mode: 0o600, uid: 3, gid: 4, size: 5, source: Buffer.from('five!') });
    expect(target.get('t/l')).toEqual({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'f' });
    expect([...target.nodes.keys()].sort()).toEqual(['t', 't/f', 't/l']);
  });

  it('sizes a file by its bytes in memory, by its stated size on disk, 0 when it has neither', async () => {
    const path = join(dir, 'on-disk');
    await writeFile(path, 'disk!');
    const ctx = tree('context', { mem: { ...f('x'), size: 99 }, disk: { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, source: path }, none: { type: 'file', mode: 0o644, uid: 0, gid: 0 } });
    const [step] = steps('FROM scratch\nCOPY mem disk none /s/\n');
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: ctx, target: new FsTree('rootfs'), epoch: 7, work: dir });
    expect(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.size, e.source, e.mtime])).toEqual([['s/mem', 1, Buffer.from('x'), 7], ['s/disk', 5, path, 7], ['s/none', 0, undefined, 7]]);
    expect(entries.find((e) => e.path === 'none')).toBeUndefined();
    expect('source' in entries.find((e) => e.path === 's/none')!).toBe(false);
    expect(entries.find((e) => e.path === 's')).toEqual({ path: 's', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 7 });
  });

  it('copies a stage\'s hard link as a file with its content and its own mode and owner', async () => {
    const stage = tree('rootfs', { o: d(), 'o/f': f('data', 0o644, 1, 1), 'o/h': { type: 'hardlink', mode: 0o700, uid: 2, gid: 2, linkname: 'o/f' }, 'o/gone': { type: 'hardlink', mode: 0o600, uid: 3, gid: 3, linkname: 'o/missing' } });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /o/h /h\n', stage, new FsTree('rootfs'))).toEqual(['h file 700 2:2 data']);
    const target = new FsTree('rootfs');
    const [step] = steps('FROM scratch AS b\nFROM scratch\nCOPY --from=b /o/gone /g\n');
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: stage, target, epoch: 0, work: dir });
    expect(entries.map((e) => [e.path, e.type, e.mode, e.uid, e.size])).toEqual([['g', 'file', 0o600, 3, 0]]);
  });
});

describe('copyEntries: destinations through the stage\'s symlinks', () => {
  it('replaces a link to a folder that a file lands on, and a link to a file that a symlink lands on', async () => {
    const target = tree('rootfs', { d: d(), 'd/n': l('/e'), e: d(), 'd/l': l('f'), 'd/f': f('old') });
    const ctx = tree('context', { src: d(), 'src/n': f('n') });
    expect(await copy('FROM scratch\nCOPY src/ /d/\n', ctx, target)).toEqual(['d directory 755 0:0', 'd/n file 644 0:0 n']);
    expect(target.get('d/n')?.type).toBe('file');
    expect(target.get('e')).toEqual(d());
    const stage = tree('rootfs', { s: d(), 's/l': l('g') });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /s/ /d/\n', stage, target)).toEqual(['d directory 755 0:0', 'd/l symlink 777 0:0 -> g']);
    expect(target.get('d/f')).toEqual(f('old'));
  });

  it('writes a folder copied to a link to / at the root, with no entry for the root', async () => {
    const target = tree('rootfs', { top: l('/') });
    expect(await copy('FROM scratch\nCOPY dir /top/\n', context(), target)).toEqual(['a.conf file 644 0:0 a', 'sub directory 755 0:0', 'sub/b file 644 0:0 b']);
    expect(target.get('top')).toEqual(l('/'));
  });

  it('points an archive\'s hard link at where its target was written through a link', async () => {
    const tar = await packTar([{ name: 'f', content: 'c' }, { name: 'h', type: 'link', linkname: 'f' }]);
    const ctx = tree('context', { 'l.tar': { ...f(''), size: tar.length, source: tar } });
    expect(await copy('FROM scratch\nADD l.tar /bin/\n', ctx, mergedBase())).toEqual(['usr directory 755 0:0', 'usr/bin directory 755 0:0', 'usr/bin/f file 644 0:0 c', 'usr/bin/h hardlink 644 0:0 -> usr/bin/f']);
  });

  it('takes a destination written with extra slashes', async () => {
    expect(await copyStep({ dest: '//x//', destIsDir: true }, context())).toEqual(['x directory 755 0:0', 'x/x.txt file 644 0:0 x']);
    expect(await copyStep({ sources: ['dir'], dest: '//c//', destIsDir: false }, context())).toEqual(['c directory 755 0:0', 'c/a.conf file 644 0:0 a', 'c/sub directory 755 0:0', 'c/sub/b file 644 0:0 b']);
  });
});

describe('copyEntries: ELF programs for another platform', () => {
  const elf = (machine: number, cls = 2, data = 1) => {
    const b = Buffer.alloc(64);
    b.set([0x7f, 0x45, 0x4c, 0x46, cls, data, 1]);
    b.writeUInt16LE(2, 16);
    b.writeUInt16LE(machine, 18);
    return b;
  };
  const ctx = () => tree('context', { arm: { ...f(''), mode: 0o755, size: 64, source: elf(183) }, amd: { ...f(''), mode: 0o755, size: 64, source: elf(62) }, 'x.txt': f('x'), sub: d(), 'sub/i386': { ...f(''), size: 64, source: elf(3, 1) } });

  it('warns once per foreign program with the file, line, instruction and both platforms', async () => {
    const warnings: string[] = [];
    const got = await copyStep({ sources: ['arm', 'amd', 'x.txt', 'sub'], dest: '/bin/', destIsDir: true }, ctx(), new FsTree('rootfs'), { warn: (w) => warnings.push(w), platform: amd64 });
    expect(got).toContain('bin/arm file 755 0:0 ' + elf(183).toString());
    expect(warnings).toEqual([
      'Dockerfile:3: COPY: /bin/arm is ELF 64-bit LSB ARM aarch64 (linux/arm64), not a program for linux/amd64, the image\'s platform',
      'Dockerfile:3: COPY: /bin/i386 is ELF 32-bit LSB Intel 80386 (linux/386), not a program for linux/amd64, the image\'s platform',
    ]);
    warnings.length = 0;
    await copyStep({ add: true, sources: ['amd'], dest: '/x' }, ctx(), new FsTree('rootfs'), { warn: (w) => warnings.push(w), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } as never });
    expect(warnings).toEqual(['Dockerfile:3: ADD: /x is ELF 64-bit LSB x86-64 (linux/amd64), not a program for linux/arm64/v8, the image\'s platform']);
  });

  it('says nothing without a platform or without a warn function', async () => {
    const warnings: string[] = [];
    await copyStep({ sources: ['arm'], dest: '/a' }, ctx(), new FsTree('rootfs'), { warn: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(await copyStep({ sources: ['arm'], dest: '/a' }, ctx(), new FsTree('rootfs'), { platform: amd64 })).toHaveLength(1);
  });
});

describe('resolveOwner: --chown by name or number, as the image\'s passwd and group say', () => {
  const image = () => tree('rootfs', {
    etc: d(),
    'etc/passwd': f('root:x:0:0::/root:/bin/sh\nshort:x\nbad:x:abc:1\nbad:x:1005:52\nsvc2:x:1001:50\n2svc:x:1002:51\nnogid:x:1003\nbadgid:x:1004:abc\napp:x:1000:1000::/home/app:/bin/sh\n'),
    'etc/group': f('root:x:0:\nstaff:x:50:\ngrp3:x:60:app\nodd:x:x7:\n'),
  });
  const owner = async (chown: string, target = image()) => (await copy(`FROM scratch\nCOPY --chown=${chown} x.txt /x\n`, context(), target))[0]!.split(' ')[3];

  it('takes a user\'s own group from passwd, or its uid when passwd has none that is a number', async () => {
    expect(await owner('app')).toBe('1000:1000');
    expect(await owner('svc2')).toBe('1001:50');
    expect(await owner('2svc')).toBe('1002:51');
    expect(await owner('nogid')).toBe('1003:1003');
    expect(await owner('badgid')).toBe('1004:1004');
    expect(await owner('bad')).toBe('1005:52');
    expect(await owner('root')).toBe('0:0');
  });

  it('takes a group by name from group, numbers as they are (up to 2147483647) without looking anything up', async () => {
    expect(await owner('app:grp3')).toBe('1000:60');
    expect(await owner('1000:staff')).toBe('1000:50');
    expect(await owner('1234', new FsTree('rootfs'))).toBe('1234:1234');
    expect(await owner('7:0', new FsTree('rootfs'))).toBe('7:0');
    expect(await owner('2147483647:2147483647', new FsTree('rootfs'))).toBe('2147483647:2147483647');
  });

  it('finds passwd through a symlinked /etc, and answers resolveOwner directly', async () => {
    const t = image();
    t.nodes.set('real', t.nodes.get('etc')!);
    for (const k of [...t.nodes.keys()]) if (k.startsWith('etc/')) t.nodes.set(`real/${k.slice(4)}`, t.nodes.get(k)!);
    for (const k of [...t.nodes.keys()]) if (k === 'etc' || k.startsWith('etc/')) t.nodes.delete(k);
    t.nodes.set('etc', l('real'));
    const fail = (w: string) => new UsageError('BAD_DOCKERFILE', w);
    expect(await resolveOwner({ user: 'svc2', group: 'grp3' }, t, fail)).toEqual({ uid: 1001, gid: 60 });
    expect(await resolveOwner({ user: '12' }, new FsTree('rootfs'), fail)).toEqual({ uid: 12, gid: 12 });
  });

  it('refuses, in one line each: an ID out of range, a name with no file to look it up in, a name not there', async () => {
    const msg = (chown: string, target = image()) => refusal(copy(`FROM scratch\nCOPY --chown=${chown} x.txt /x\n`, context(), target));
    expect(await msg('2147483648', new FsTree('rootfs'))).toBe('Dockerfile:2: COPY: --chown=2147483648: user ID 2147483648 is out of range (at most 2147483647)');
    expect(await msg('1:2147483648', new FsTree('rootfs'))).toBe('Dockerfile:2: COPY: --chown=1:2147483648: group ID 2147483648 is out of range (at most 2147483647)');
    expect(await msg('app', new FsTree('rootfs'))).toBe('Dockerfile:2: COPY: --chown=app: no etc/passwd in the image to look up user "app"; give numbers');
    expect(await msg('1:staff', new FsTree('rootfs'))).toBe('Dockerfile:2: COPY: --chown=1:staff: no etc/group in the image to look up group "staff"; give numbers');
    const passwdOnly = tree('rootfs', { etc: d(), 'etc/passwd': f('app:x:1000:1000\n') });
    expect(await msg('app:staff', passwdOnly)).toBe('Dockerfile:2: COPY: --chown=app:staff: no etc/group in the image to look up group "staff"; give numbers');
    expect(await msg('app:', passwdOnly)).toBe('Dockerfile:2: COPY: --chown=app: no etc/group in the image to look up group ""; give numbers');
    expect(await msg('short')).toBe('Dockerfile:2: COPY: --chown: user "short" is not in the image\'s etc/passwd');
    expect(await msg('nobody')).toBe('Dockerfile:2: COPY: --chown: user "nobody" is not in the image\'s etc/passwd');
    expect(await msg('app:odd')).toBe('Dockerfile:2: COPY: --chown: group "odd" is not in the image\'s etc/group');
    expect(await msg('app:nogroup')).toBe('Dockerfile:2: COPY: --chown: group "nogroup" is not in the image\'s etc/group');
    expect(await msg('app:')).toBe('Dockerfile:2: COPY: --chown: group "" is not in the image\'s etc/group');
  });
});

describe('orderHardLinks: each group of names for one file', () => {
  const e = (path: string, more: Partial<TarEntry> = {}): [string, TarEntry] => [path, { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, ...more }];
  const order = (...list: [string, TarEntry][]) => {
    const m = new Map(list);
    orderHardLinks(m);
    return [...m.values()];
  };

  it('leaves links that already follow their file, and links to nothing, as they are', () => {
    const before: [string, TarEntry][] = [e('a', { size: 1, source: Buffer.from('x') }), e('b', { type: 'hardlink', linkname: 'a' }), e('c', { type: 'hardlink', linkname: 'missing' }), e('s', { type: 'symlink', linkname: 'a' }), e('n', { type: 'hardlink' })];
    expect(order(...before)).toEqual(before.map(([, v]) => v));
  });

  it('moves the content to the first name by bytes (UTF-8 order), each name keeping its own mode and owner', () => {
    const got = order(e('\u{1F600}', { size: 3, source: 'on-disk', mode: 0o600, uid: 5, gid: 6 }), e('\uFF5E', { type: 'hardlink', linkname: '\u{1F600}', mode: 0o755, uid: 1, gid: 2 }));
    expect(got).toEqual([
      { path: '\u{1F600}', type: 'hardlink', linkname: '\uFF5E', mode: 0o600, uid: 5, gid: 6, mtime: 0 },
      { path: '\uFF5E', type: 'file', size: 3, source: 'on-disk', mode: 0o755, uid: 1, gid: 2, mtime: 0 },
    ]);
  });

  it('takes a file with no size or content as empty, and follows a chain of links to its file', () => {
    const got = order(e('z'), e('y', { type: 'hardlink', linkname: 'z' }), e('x', { type: 'hardlink', linkname: 'y' }));
    expect(got).toEqual([
      { path: 'z', type: 'hardlink', linkname: 'x', mode: 0o644, uid: 0, gid: 0, mtime: 0 },
      { path: 'y', type: 'hardlink', linkname: 'x', mode: 0o644, uid: 0, gid: 0, mtime: 0 },
      { path: 'x', type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime: 0 },
    ]);
  });

  it('leaves a loop of links alone', () => {
    const before: [string, TarEntry][] = [e('p', { type: 'hardlink', linkname: 'q' }), e('q', { type: 'hardlink', linkname: 'p' })];
    expect(order(...before)).toEqual(before.map(([, v]) => v));
  });
});

describe('copyEntries: ADD\'s test for a local archive, and what it extracts', () => {
  const ctxOf = (files: Record<string, Buffer>) => tree('context', Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { ...f(''), size: v.length, source: v }])));
  const addTo = (text: string, files: Record<string, Buffer>, target = new FsTree('rootfs')) => copy(`FROM scratch\n${text}\n`, ctxOf(files), target);
  let src: string;
  beforeAll(async () => {
    src = join(dir, 'arch-src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'f'), 'f');
  });
  const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const gnuTar = (...args: string[]) => execFileSync('tar', ['-c', ...args, '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', src, 'f']);

  it('COPY never extracts; ADD extracts into the destination as a folder, slash or not, or at the root', async () => {
    const tar = await packTar([{ name: 'm', content: 'm' }]);
    expect(await addTo('COPY p.tar /x/', { 'p.tar': tar })).toEqual(['x directory 755 0:0', `x/p.tar file 644 0:0 ${tar.toString()}`]);
    expect(await addTo('ADD p.tar /x', { 'p.tar': tar })).toEqual(['x directory 755 0:0', 'x/m file 644 0:0 m']);
    expect(await addTo('ADD p.tar /', { 'p.tar': tar })).toEqual(['m file 644 0:0 m']);
  });

  it('extracts an old v7 tar (no ustar magic, its checksum adds up)', async () => {
    const v7 = gnuTar('--format=v7');
    expect(v7.subarray(257, 262).toString('latin1')).not.toBe('ustar');
    expect(await addTo('ADD old.tar /x/', { 'old.tar': v7 })).toEqual(['x directory 755 0:0', 'x/f file 644 0:0 f']);
  });

  it('copies as they are: short files, text, a header-like block with no name, a zstd tar, a bad bzip2, a cut xz', async () => {
    const nameless = Buffer.alloc(1024);
    nameless.write('000400\0 ', 148, 'latin1');
    const zst = execFileSync('zstd', ['-c', '-q'], { input: gnuTar() });
    const xz = gnuTar('--xz');
    const files: Record<string, Buffer> = {
      one: Buffer.from('a'), two: Buffer.from([0x1f, 0x8b]), three: Buffer.from('abc'), text: Buffer.from('hello '.repeat(200)),
      nameless, 'p.tar.zst': zst, 'p.tar.bz2': Buffer.from('BZh9 not really bzip2'), 'cut.txz': xz.subarray(0, xz.length - 40),
    };
    const got = await addTo(`ADD ${Object.keys(files).join(' ')} /x/`, files);
    expect(got.map((line) => line.split(' ').slice(0, 4).join(' '))).toEqual(['x directory 755 0:0', ...Object.keys(files).sort().map((k) => `x/${k} file 644 0:0`)]);
  });

  it('extracts a tar.gz whose first 64 KiB hold no whole gzip stream, and bzip2 and xz archives read from disk', async () => {
    const big = Buffer.from(pseudoRandomBytes(100 << 10, 3, 0).toString('hex'));
    const tgz = gzipSync(await packTar([{ name: 'big', content: big.toString() }, { name: 'small', content: 's' }]));
    expect(tgz.length).toBeGreaterThan(64 << 10);
    const [step] = steps('FROM scratch\nADD big.tgz /x/\n');
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: ctxOf({ 'big.tgz': tgz }), target: new FsTree('rootfs'), epoch: 0, work: dir });
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([['x/big', 'file', big.length], ['x/small', 'file', 1], ['x', 'directory', undefined]]);
    expect(digest(await readFile(entries[0]!.source as string))).toBe(digest(big));
    const onDisk: Record<string, FsNode> = {};
    for (const [name, flag] of [['p.tbz', '--bzip2'], ['p.txz', '--xz'], ['p.tgz', '--gzip']] as const) {
      const path = join(dir, `disk-${name}`);
      await writeFile(path, gnuTar(flag));
      onDisk[name] = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, source: path };
    }
    for (const name of Object.keys(onDisk)) expect(await copy(`FROM scratch\nADD ${name} /${name}/\n`, tree('context', onDisk), new FsTree('rootfs'))).toEqual([`${name} directory 755 0:0`, `${name}/f file 644 0:0 f`]);
  });

  it('keeps two archives of one ADD apart, large members included', async () => {
    const a = Buffer.alloc(100 << 10, 'a');
    const b = Buffer.alloc(100 << 10, 'b');
    const files = { 'a.tar': await packTar([{ name: 'a', content: a.toString() }]), 'b.tar': await packTar([{ name: 'b', content: b.toString() }]) };
    const [step] = steps('FROM scratch\nADD a.tar b.tar /x/\n');
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: ctxOf(files), target: new FsTree('rootfs'), epoch: 0, work: dir });
    const content = async (path: string) => readFile(entries.find((e) => e.path === path)!.source as string);
    expect(digest(await content('x/a'))).toBe(digest(a));
    expect(digest(await content('x/b'))).toBe(digest(b));
  });

  it('leaves out the archive\'s root entry, keeps a symlink\'s target as written, points a hard link under the destination', async () => {
    const tar = await packTar([{ name: './', type: 'directory', mode: 0o700, uid: 9 }, { name: 'f', content: 'f', mode: 0o600 }, { name: 's', type: 'symlink', linkname: '/etc/f', uid: 3, gid: 4 }, { name: 'h', type: 'link', linkname: 'f', mode: 0o600 }]);
    expect(await addTo('ADD p.tar /x/', { 'p.tar': tar })).toEqual(['x directory 755 0:0', 'x/f file 600 0:0 f', 'x/h hardlink 600 0:0 -> x/f', 'x/s symlink 644 3:4 -> /etc/f']);
  });

  it('refuses an archive that is not a sound tar, in one line naming ADD', async () => {
    const tar = await packTar([{ name: '../evil', content: 'e' }]);
    expect(await refusal(addTo('ADD p.tar /x/', { 'p.tar': tar }))).toBe('Dockerfile:2: ADD: the archive: entry "../evil" climbs above the layer root; refusing an unsafe layer');
  });

  it('names one special file, three, or the first three of more, and needs no warn function', async () => {
    const warned = async (n: number, warn = true) => {
      const tar = await packTar([{ name: 'f', content: 'f' }, ...Array.from({ length: n }, (_, i) => ({ name: `p${i}`, type: 'fifo' as const }))]);
      const warnings: string[] = [];
      const [step] = steps('FROM scratch\nADD p.tar /x/\n');
      const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: ctxOf({ 'p.tar': tar }), target: new FsTree('rootfs'), epoch: 0, work: dir, ...(warn ? { warn: (w: string) => warnings.push(w) } : {}) });
      expect(show(entries).sort()).toEqual(['x directory 755 0:0', 'x/f file 644 0:0 f']);
      return warnings;
    };
    expect(await warned(0)).toEqual([]);
    expect(await warned(1)).toEqual(['Dockerfile:2: ADD: the archive\'s member /p0 (device, FIFO or socket) left out: images built here hold no special files']);
    expect(await warned(3)).toEqual(['Dockerfile:2: ADD: the archive\'s 3 members /p0, /p1, /p2 (device, FIFO or socket) left out: images built here hold no special files']);
    expect(await warned(4)).toEqual(['Dockerfile:2: ADD: the archive\'s 4 members /p0, /p1, /p2, ... (device, FIFO or socket) left out: images built here hold no special files']);
    expect(await warned(2, false)).toEqual([]);
  });
});

describe('copyEntries: a destination that runs into a loop of symlinks', () => {
  it('is refused in one line, never written as a real /bin folder in place of the link', async () => {
    const target = tree('rootfs', { usr: d(), 'usr/bin': d(), bin: l('usr/bin'), 'usr/bin/loop': l('loop'), 'usr/bin/a': l('b'), 'usr/bin/b': l('a') });
    expect(await refusal(copy('FROM scratch\nCOPY x.txt /bin/loop\n', context(), target))).toBe('Dockerfile:2: COPY: destination /bin/loop passes through too many symlinks');
    expect(await refusal(copy('FROM scratch\nADD x.txt /bin/a/x\n', context(), target))).toBe('Dockerfile:2: ADD: destination /bin/a/x passes through too many symlinks');
    expect(await refusal(copy('FROM scratch\nCOPY dir /bin/b/\n', context(), target))).toBe('Dockerfile:2: COPY: destination /bin/b passes through too many symlinks');
    expect(target.get('bin')).toEqual(l('usr/bin'));
    expect(await copy('FROM scratch\nCOPY x.txt /bin/ok\n', context(), target)).toEqual(['usr directory 755 0:0', 'usr/bin directory 755 0:0', 'usr/bin/ok file 644 0:0 x']);
  });
});

describe('copyEntries: files read when written, and symbolic modes on folders', () => {
  it('takes a file whose content is opened later at its stated size, and ADD copies it as it is', async () => {
    const open = async (): Promise<AsyncIterable<Uint8Array>> => Readable.from([Buffer.from('late')]);
    const stage = tree('rootfs', { lazy: { type: 'file', mode: 0o755, uid: 1, gid: 2, size: 4, source: open } });
    const warnings: string[] = [];
    for (const add of [false, true]) {
      const entries = await copyEntries({ step: { kind: 'copy', add, line: 3, from: { kind: 'build-context' }, sources: ['lazy'], inline: [], dest: '/l', destIsDir: false }, file: 'Dockerfile', from: stage, target: new FsTree('rootfs'), epoch: 0, work: dir, platform: amd64, warn: (w) => warnings.push(w) });
      expect(entries).toEqual([{ path: 'l', type: 'file', mode: 0o755, uid: 1, gid: 2, mtime: 0, size: 4, source: open }]);
    }
    expect(warnings).toEqual([]);
  });

  it('gives X to a folder that had no x bit, and to a file only when it had one', async () => {
    const stage = tree('rootfs', { s: d(), 's/closed': d(0o600), 's/plain': f('p', 0o600), 's/run': f('r', 0o700) });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b --chmod=a+X /s /t\n', stage, new FsTree('rootfs'))).toEqual(['t directory 755 0:0', 't/closed directory 711 0:0', 't/plain file 600 0:0 p', 't/run file 711 0:0 r']);
  });
});

describe('copyEntries: ADD tells a tar by its header checksum, as Go\'s tar reader does', () => {
  const resum = (tar: Buffer, signed: boolean) => {
    let sum = 0;
    for (let i = 0; i < 512; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : tar[i]!;
      sum += signed && b > 127 ? b - 256 : b;
    }
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return tar;
  };
  const addOne = (name: string, bytes: Buffer) => copy(`FROM scratch\nADD ${name} /x/\n`, tree('context', { [name]: { ...f(''), size: bytes.length, source: bytes } }), new FsTree('rootfs'));

  it('copies a file with the ustar magic and a checksum that does not add up as it is (Docker does; it was exit 2)', async () => {
    const tar = await packTar([{ name: 'm', content: 'm' }]);
    tar.write('0000000\0', 148, 'latin1');
    expect(await addOne('p.tar', tar)).toEqual(['x directory 755 0:0', `x/p.tar file 644 0:0 ${tar.toString()}`]);
  });

  it('extracts a tar whose checksum is the old signed sum of its bytes', async () => {
    const tar = await packTar([{ name: 'm', content: 'm', mode: 0o600 }]);
    tar.set([0x80, 0xe9], 265); // the owner's name, in Latin-1
    expect(await addOne('p.tar', resum(tar, true))).toEqual(['x directory 755 0:0', 'x/m file 600 0:0 m']);
    expect(await addOne('q.tar', resum(tar, false))).toEqual(['x directory 755 0:0', 'x/m file 600 0:0 m']);
  });

  it('copies a file whose checksum field has the right sum and a stray letter as it is (Go\'s parser refuses the field)', async () => {
    const tar = resum(await packTar([{ name: 'm', content: 'm' }]), false);
    const field = tar.toString('latin1', 148, 154);
    tar.write(`${field}z `, 148, 'latin1');
    expect(await addOne('p.tar', tar)).toEqual(['x directory 755 0:0', `x/p.tar file 644 0:0 ${tar.toString()}`]);
    tar.write(`${field}\0 `, 148, 'latin1');
    expect(await addOne('q.tar', tar)).toEqual(['x directory 755 0:0', 'x/m file 644 0:0 m']);
  });

  it('takes a ustar header with no name for a (bad) tar, a v7 one for no tar', async () => {
    const tar = await packTar([{ name: 'm', content: 'm' }]);
    tar[0] = 0;
    expect(await refusal(addOne('p.tar', resum(tar, false)))).toBe('Dockerfile:2: ADD: the archive: not a valid tar archive (member with an empty name at byte 0)');
    tar.fill(0, 257, 265);
    expect(await addOne('v7.tar', resum(tar, false))).toEqual(['x directory 755 0:0', `x/v7.tar file 644 0:0 ${tar.toString()}`]);
  });
});

describe('copyEntries: compressed files that hold no tar', () => {
  it('copies a broken gzip, and bzip2 and xz files of plain text, as they are', async () => {
    const text = Buffer.from('plain text, no tar\n'.repeat(40));
    const files: Record<string, Buffer> = {
      'bad.gz': Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(600, 0xff)]),
      'note.bz2': execFileSync('bzip2', ['-c'], { input: text }),
      'note.xz': execFileSync('xz', ['-c'], { input: text }),
    };
    const ctx = tree('context', Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { ...f(''), size: v.length, source: v }])));
    const [step] = steps(`FROM scratch\nADD ${Object.keys(files).join(' ')} /x/\n`);
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: ctx, target: new FsTree('rootfs'), epoch: 0, work: dir });
    expect(entries.map((e) => [e.path, e.type, e.size, e.source])).toEqual([...Object.entries(files).map(([k, v]) => [`x/${k}`, 'file', v.length, v]), ['x', 'directory', undefined, undefined]]);
  });
});

describe('copyEntries: folders inside what is copied, onto folders that exist', () => {
  it('give them their own mode and owner (only the destination folder itself keeps its own)', async () => {
    const target = tree('rootfs', { x: d(0o750, 1, 1), 'x/d': d(0o755, 0, 0) });
    const tar = await packTar([{ name: 'd/', type: 'directory', mode: 0o700, uid: 5, gid: 6 }, { name: 'd/f', content: 'f' }]);
    const ctx = tree('context', { 'p.tar': { ...f(''), size: tar.length, source: tar } });
    expect(await copy('FROM scratch\nADD p.tar /x/\n', ctx, target)).toEqual(['x directory 750 1:1', 'x/d directory 700 5:6', 'x/d/f file 644 0:0 f']);
    const stage = tree('rootfs', { s: d(0o700, 2, 2), 's/d': d(0o711, 3, 3) });
    expect(await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /s /x\n', stage, target)).toEqual(['x directory 750 1:1', 'x/d directory 711 3:3']);
  });
});

describe('copyEntries: entries exactly as the tar writer gets them', () => {
  it('has no size, source or link name where there is none', async () => {
    const [step] = steps('FROM scratch\nCOPY dir /new\n');
    const entries = await copyEntries({ step: step!, file: 'Dockerfile', from: context(), target: new FsTree('rootfs'), epoch: 0, work: dir });
    expect(entries.slice(0, 2)).toStrictEqual([
      { path: 'new', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
      { path: 'new/a.conf', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 1, source: Buffer.from('a') },
    ]);
  });

  it('records them so in the stage\'s tree', async () => {
    const stage = tree('rootfs', { s: d(), 's/f': f('five!', 0o600, 3, 4), 's/l': l('f') });
    const target = new FsTree('rootfs');
    await copy('FROM scratch AS b\nFROM scratch\nCOPY --from=b /s /t\n', stage, target);
    expect([target.get('t'), target.get('t/f'), target.get('t/l')]).toStrictEqual([d(), { type: 'file', mode: 0o600, uid: 3, gid: 4, size: 5, source: Buffer.from('five!') }, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'f' }]);
  });

  it('moves no content key onto a link group\'s first name when the file has none', () => {
    const m = new Map<string, TarEntry>([['z', { path: 'z', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 }], ['y', { path: 'y', type: 'hardlink', linkname: 'z', mode: 0o644, uid: 0, gid: 0, mtime: 0 }]]);
    orderHardLinks(m);
    expect([...m.values()]).toStrictEqual([{ path: 'z', type: 'hardlink', linkname: 'y', mode: 0o644, uid: 0, gid: 0, mtime: 0 }, { path: 'y', type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime: 0 }]);
  });
});

describe('copyEntries: a file on the way to the destination', () => {
  it('is refused, through a link or not, for a file, a folder and an archive\'s members; the base is left as it was', async () => {
    const base = () => tree('rootfs', { bin: d(), 'bin/busybox': f('bb', 0o755), 'bin/sh': l('busybox'), etc: d(), 'etc/passwd': f('root') });
    const tar = await packTar([{ name: 'm', content: 'm' }]);
    const ctx = tree('context', { ...Object.fromEntries(context().nodes), 'p.tar': { ...f(''), size: tar.length, source: tar } });
    const target = base();
    expect(await refusal(copy('FROM scratch\nCOPY x.txt /bin/sh/\n', ctx, target))).toBe('Dockerfile:2: COPY: destination /bin/sh/x.txt: /bin/busybox is a file, not a folder');
    expect(await refusal(copy('FROM scratch\nCOPY dir /bin/sh/\n', ctx, target))).toBe('Dockerfile:2: COPY: destination /bin/sh: /bin/sh is a symlink, not a folder');
    expect(await refusal(copy('FROM scratch\nCOPY x.txt /etc/passwd/x/y\n', ctx, target))).toBe('Dockerfile:2: COPY: destination /etc/passwd/x/y: /etc/passwd is a file, not a folder');
    expect(await refusal(copy('FROM scratch\nADD p.tar /etc/passwd/\n', ctx, target))).toBe('Dockerfile:2: ADD: destination /etc/passwd/m: /etc/passwd is a file, not a folder');
    expect(target.nodes).toEqual(base().nodes);
    // Onto the file itself, without a slash: written through the link, as before.
    expect(await copy('FROM scratch\nCOPY x.txt /bin/sh\n', ctx, target)).toEqual(['bin directory 755 0:0', 'bin/busybox file 644 0:0 x']);
  });
});

describe('copyEntries: more destinations through links, and archive members\' owners', () => {
  it('writes a file through a link that points at nothing yet, and into the folder a link names without a slash', async () => {
    const target = tree('rootfs', { dl: l('made'), real: d(0o700, 4, 4), lnk: l('real') });
    expect(await copy('FROM scratch\nCOPY x.txt /dl\n', context(), target)).toEqual(['made file 644 0:0 x']);
    expect(await copy('FROM scratch\nCOPY x.txt /lnk\n', context(), target)).toEqual(['real directory 700 4:4', 'real/x.txt file 644 0:0 x']);
    expect(target.get('lnk')).toEqual(l('real'));
    expect(target.get('dl')).toEqual(l('made'));
  });

  it('keeps an archive symlink\'s target as written even where a member was written through a link', async () => {
    const tar = await packTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/f', content: 'c' }, { name: 'l', type: 'symlink', linkname: 'bin/f' }]);
    const ctx = tree('context', { 'p.tar': { ...f(''), size: tar.length, source: tar } });
    expect(await copy('FROM scratch\nADD p.tar /\n', ctx, mergedBase())).toEqual(['l symlink 644 0:0 -> bin/f', 'usr directory 755 0:0', 'usr/bin directory 755 0:0', 'usr/bin/f file 644 0:0 c']);
  });

  it('keeps a hard link member\'s own owner, and copies a file with no content as empty', async () => {
    const tar = await packTar([{ name: 'f', content: 'f' }, { name: 'h', type: 'link', linkname: 'f', uid: 7, gid: 8 }]);
    const ctx = tree('context', { 'p.tar': { ...f(''), size: tar.length, source: tar }, none: { type: 'file', mode: 0o644, uid: 0, gid: 0 } });
    expect(await copy('FROM scratch\nADD p.tar none /x/\n', ctx, new FsTree('rootfs'))).toEqual(['x directory 755 0:0', 'x/f file 644 0:0 f', 'x/h hardlink 644 7:8 -> x/f', 'x/none file 644 0:0']);
  });
});

describe('resolveOwner: only whole numbers in passwd count', () => {
  it('skips a line whose uid is not all digits, and takes the uid as the group when the gid is not', async () => {
    const t = tree('rootfs', { etc: d(), 'etc/passwd': f('lead:x:12ab:1\nlead:x:1008:53\ntail:x:ab12:1\ntail:x:1009:54\nmixed:x:1006:5x\ngidx:x:1007:x5\n') });
    const fail = (w: string) => new UsageError('BAD_DOCKERFILE', w);
    expect(await resolveOwner({ user: 'lead' }, t, fail)).toEqual({ uid: 1008, gid: 53 });
    expect(await resolveOwner({ user: 'tail' }, t, fail)).toEqual({ uid: 1009, gid: 54 });
    expect(await resolveOwner({ user: 'mixed' }, t, fail)).toEqual({ uid: 1006, gid: 1006 });
    expect(await resolveOwner({ user: 'gidx' }, t, fail)).toEqual({ uid: 1007, gid: 1007 });
  });
});

