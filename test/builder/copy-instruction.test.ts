import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { copyEntries, orderHardLinks, redactUrl } from '../../src/builder/copy-instruction.js';
import { FsTree, type FsNode } from '../../src/builder/rootfs.js';
import type { TarEntry } from '../../src/blob/tar.js';
import { dispatchStage, type CopyStep } from '../../src/dockerfile/dispatch.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/dockerfile/stage-plan.js';
import { UsageError } from '../../src/errors.js';
import { packTar } from '../blob/helpers.js';
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
  });
});
