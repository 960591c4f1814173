import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { dockerfilePlatforms } from '../../src/builder/dockerfile-build.js';
import { berth } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-dfbuild-')));
afterAll(async () => cleanup());

async function ctx(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  await mkdir(root, { recursive: true });
  for (const [p, c] of Object.entries(files)) await writeFile(join(root, p), c);
  return root;
}

/** Exit 2, exactly one line on stderr matching `message`, and no output or work folder left. */
async function refused(args: string[], message: RegExp, cwd: string): Promise<void> {
  const out = join(cwd, 'out.tar');
  const r = await berth(['build', ...args, '--output', out], { cwd });
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.code).toBe(2);
  expect((await readdir(cwd)).filter((f) => f === 'out.tar' || f.startsWith('.berth-work'))).toEqual([]);
}

describe('dockerfilePlatforms', () => {
  it('builds a platform named twice once, and linux/arm64/v8 as linux/arm64 (as BuildKit normalizes it)', () => {
    const arm64v8 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
    const amd64 = { os: 'linux', architecture: 'amd64' };
    const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
    expect(dockerfilePlatforms([amd64, arm64v8, amd64, { os: 'linux', architecture: 'arm64' }, armv7])).toEqual([amd64, { os: 'linux', architecture: 'arm64' }, armv7]);
    expect(dockerfilePlatforms([])).toEqual([amd64]);
  });

  it('writes one index entry per platform however often it is named', async () => {
    const root = await ctx('dup', { Dockerfile: 'FROM scratch\nCOPY a /\n', a: 'a' });
    const r = await berth(['build', '--dockerfile', 'Dockerfile', '--platform', 'linux/amd64', '--platform', 'linux/amd64', '--platform', 'linux/arm64/v8', '--output', 'out.tar', '--json'], { cwd: root });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { images: { platform: string }[] }).images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64']);
  });
});

describe('BUILD_COMMIT_SHA', () => {
  /** The config labels of the one image in an OCI layout folder. */
  async function labels(layout: string): Promise<Record<string, string>> {
    const blob = (d: string) => join(layout, 'blobs', ...d.split(':'));
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { config: { digest: string } };
    return (JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as { config: { Labels?: Record<string, string> } }).config.Labels ?? {};
  }

  it("is the checkout's HEAD for a Dockerfile that declares it; --build-arg wins; outside git it is unset", async () => {
    const root = await ctx('commit', { Dockerfile: 'FROM scratch\nARG BUILD_COMMIT_SHA\nLABEL commit=${BUILD_COMMIT_SHA:-none}\nCOPY a /\n', a: 'a' });
    const git = (...args: string[]) => execFileSync('git', ['-C', root, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' }).trim();
    const build = async (layout: string, ...extra: string[]) => {
      const r = await berth(['build', '--dockerfile', 'Dockerfile', ...extra, '--output', `oci:${join(root, layout)}:x`], { cwd: root });
      expect(r.stderr).toMatch(/^berth: built linux\/amd64 from Dockerfile \(native\)/m);
      expect(r.code).toBe(0);
      return labels(join(root, layout));
    };
    expect(await build('outside')).toEqual({ commit: 'none' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    expect(await build('inside')).toEqual({ commit: git('rev-parse', 'HEAD') });
    expect(await build('given', '--build-arg', 'BUILD_COMMIT_SHA=abc')).toEqual({ commit: 'abc' });
  });
});

describe('hostile inputs: one line, exit 2', () => {
  it('refuses a FIFO as --dockerfile and as .dockerignore instead of hanging', async () => {
    const root = await ctx('fifo', { Dockerfile: 'FROM scratch\n' });
    execFileSync('mkfifo', [join(root, 'pipe')]);
    await refused(['--dockerfile', 'pipe'], /^berth: --dockerfile pipe: not a regular file \(a FIFO, socket or device\); give a file$/m, root);
    execFileSync('mkfifo', [join(root, '.dockerignore')]);
    await refused(['--dockerfile', 'Dockerfile'], /\.dockerignore: not a regular file/, root);
  });

  it('refuses deep ${a:-...} nesting, a doubling ENV chain and a reversed glob range with their line', async () => {
    const nested = `FROM scratch\nENV A=${'${a:-'.repeat(5000)}x${'}'.repeat(5000)}\n`;
    const doubling = `FROM scratch\nENV A=aaaaaaaaaa\n${'ENV A=$A$A\n'.repeat(40)}`;
    for (const [name, text, message] of [
      ['nested', nested, /^berth: Dockerfile:2: ENV: \$\{\.\.\.\} nested more than 64 deep$/m],
      ['doubling', doubling, /^berth: Dockerfile:\d+: ENV: variables expand to more than 1 MiB$/m],
      ['range', 'FROM scratch\nCOPY [z-a] /x/\n', /^berth: Dockerfile:2: COPY: syntax error in pattern "\[z-a\]": the range z-a runs backwards$/m],
    ] as const) {
      const root = await ctx(`hostile-${name}`, { Dockerfile: text });
      await refused(['--dockerfile', 'Dockerfile'], message, root);
    }
  });

  it('refuses ADD of a URL without --checksum whatever the engine, before any engine runs, never showing its password', async () => {
    const root = await ctx('url-engine', { Dockerfile: 'FROM scratch\nRUN true\nADD https://user:secret@example.com/x /x\n' });
    for (const engine of ['buildah', 'docker', 'auto']) {
      const r = await berth(['build', '--dockerfile', 'Dockerfile', '--engine', engine, '--output', 'out.tar'], { cwd: root });
      expect(r.stderr.trim()).toBe('berth: Dockerfile:3: ADD: "https://***@example.com/x": ADD of a URL needs --checksum=sha256:<hex>, so the build is reproducible');
      expect(r.code).toBe(2);
    }
  });
});

describe('ADD <url> limits', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/endless') {
        const chunk = Buffer.alloc(1 << 16);
        const pump = () => { while (res.write(chunk)); };
        res.on('drain', pump);
        pump();
      } else if (req.url === '/silent') {
        res.writeHead(200);
        res.flushHeaders();
      } else if (req.url === '/auth') {
        res.end(req.headers.authorization ?? 'none');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const sum = `sha256:${'0'.repeat(64)}`;

  it('gives up on a server that sends nothing for --timeout seconds (an idle limit), exit 1, password hidden', async () => {
    const root = await ctx('silent', { Dockerfile: `FROM scratch\nADD --checksum=${sum} ${base.replace('//', '//u:pw@')}/silent /x\n` });
    const started = Date.now();
    const r = await berth(['build', '--dockerfile', 'Dockerfile', '--timeout', '1', '--output', 'out.tar'], { cwd: root });
    expect(r.stderr.trim()).toBe(`berth: ADD ${base.replace('//', '//***@')}/silent: the server sent nothing for 1 s`);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('stops an endless response at the size limit (exit 2), and sends URL credentials as Basic auth', async () => {
    const root = await ctx('endless', { Dockerfile: `FROM scratch\nADD --checksum=${sum} ${base}/endless /x\n` });
    const { copyEntries } = await import('../../src/builder/copy-instruction.js');
    const { FsTree } = await import('../../src/builder/rootfs.js');
    const step = { kind: 'copy' as const, add: true, line: 2, from: { kind: 'build-context' as const }, sources: [`${base}/endless`], inline: [], dest: '/x', destIsDir: false, checksum: sum };
    await expect(copyEntries({ step, file: 'Dockerfile', from: new FsTree('context'), target: new FsTree('rootfs'), epoch: 0, work: root, fetchLimits: { maxBytes: 1 << 20 } }))
      .rejects.toThrow(`Dockerfile:2: ADD: ${base}/endless: the server sent more than the limit of 1048576 bytes`);
    const auth = `sha256:${(await import('node:crypto')).createHash('sha256').update(`Basic ${Buffer.from('u:p w').toString('base64')}`).digest('hex')}`;
    const ok = { ...step, sources: [`${base.replace('//', '//u:p%20w@')}/auth`], checksum: auth };
    const entries = await copyEntries({ step: ok, file: 'Dockerfile', from: new FsTree('context'), target: new FsTree('rootfs'), epoch: 0, work: root });
    expect(entries.map((e) => e.path)).toEqual(['x']);
  });
});
