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

// Imports of the tests below (here, so the lines of the tests above stay where they were).
import { DEFAULT_PATH } from '../../src/builder/native.js';
import { imageTree } from '../../src/builder/rootfs.js';
import type { Platform } from '../../src/oci/platform.js';
import type { Image } from '../../src/transport/image.js';

describe('parseContextSource', () => {
  const what = '--build-context c';
  it('refuses an empty source and an unknown scheme, naming the flag', async () => {
    const { parseContextSource } = await import('../../src/builder/dockerfile-build.js');
    const { UsageError } = await import('../../src/errors.js');
    const forms = 'give a folder, an image tarball, oci:DIR[:NAME], docker-image://REF, oci-layout://DIR[:TAG] or berth:static';
    expect(() => parseContextSource('', dir, what)).toThrow(new UsageError('BAD_FLAG', `${what}: names no source (empty after =); ${forms}`));
    expect(() => parseContextSource(' \t', dir, what)).toThrow(new UsageError('BAD_FLAG', `${what}: names no source (empty after =); ${forms}`));
    expect(() => parseContextSource('https://example.com/x', dir, what)).toThrow(new UsageError('BAD_FLAG', `${what}: unknown source scheme "https://"; ${forms}`));
    expect(() => parseContextSource('Git+SSH://host/x', dir, what)).toThrow(new UsageError('BAD_FLAG', `${what}: unknown source scheme "Git+SSH://"; ${forms}`));
    expect(() => parseContextSource('docker-image://UP PER', dir, what)).toThrow(`${what}: "UP PER" is not a valid image reference: "UP PER" must be lowercase letters, digits and separators`);
  });

  it('reads berth:static, docker-image://, docker:// and oci-layout:// (with and without a tag)', async () => {
    const { parseContextSource } = await import('../../src/builder/dockerfile-build.js');
    const registry = (repository: string, tag: string) => ({ kind: 'image', base: { kind: 'location', location: { kind: 'registry', ref: { registry: 'docker.io', repository, tag } } } });
    expect(parseContextSource('berth:static', dir, what)).toEqual({ kind: 'image', base: { kind: 'static' } });
    expect(parseContextSource('docker-image://alpine:3', dir, what)).toEqual(registry('library/alpine', '3'));
    expect(parseContextSource('docker-image://alpine', dir, what)).toEqual(registry('library/alpine', 'latest'));
    expect(parseContextSource('docker://alpine', dir, what)).toEqual(registry('library/alpine', 'latest'));
    const layout = (d: string, name?: string) => ({ kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: d, ...(name !== undefined ? { name } : {}) } } });
    expect(parseContextSource('oci-layout://lay:v10', dir, what)).toEqual(layout(join(dir, 'lay'), 'v10'));
    expect(parseContextSource('oci-layout://lay', dir, what)).toEqual(layout(join(dir, 'lay')));
    expect(parseContextSource('oci-layout:///abs/lay:a:b', dir, what)).toEqual(layout('/abs/lay:a', 'b'));
    expect(parseContextSource('oci-layout://x:y/z', dir, what)).toEqual(layout(join(dir, 'x:y/z')));
  });

  it('takes a folder as a folder, a folder holding oci-layout as a layout, anything else as an image location', async () => {
    const { parseContextSource } = await import('../../src/builder/dockerfile-build.js');
    const root = await ctx('sources', { 'img.tar': 'not read here' });
    await mkdir(join(root, 'plain'));
    await mkdir(join(root, 'lay'));
    await writeFile(join(root, 'lay', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    expect(parseContextSource('plain', root, what)).toEqual({ kind: 'dir', path: join(root, 'plain') });
    expect(parseContextSource(join(root, 'plain'), '/', what)).toEqual({ kind: 'dir', path: join(root, 'plain') });
    // A folder holding oci-layout is read as an image (the tarball reader takes a layout folder too).
    expect(parseContextSource('lay', root, what)).toEqual({ kind: 'image', base: { kind: 'location', location: { kind: 'tarball', path: join(root, 'lay') } } });
    expect(parseContextSource('img.tar', root, what)).toEqual({ kind: 'image', base: { kind: 'location', location: { kind: 'tarball', path: join(root, 'img.tar') } } });
    expect(parseContextSource('oci:lay:n', root, what)).toEqual({ kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: join(root, 'lay'), name: 'n' } } });
  });
});

describe('dockerfilePlatforms: only arm64/v8 loses its variant', () => {
  it('keeps arm/v8, arm64/v9 and the OS of windows/arm64/v8', () => {
    expect(dockerfilePlatforms([{ os: 'linux', architecture: 'arm', variant: 'v8' }, { os: 'linux', architecture: 'arm64', variant: 'v9' }, { os: 'windows', architecture: 'arm64', variant: 'v8' }])).toEqual([
      { os: 'linux', architecture: 'arm', variant: 'v8' },
      { os: 'linux', architecture: 'arm64', variant: 'v9' },
      { os: 'windows', architecture: 'arm64' },
    ]);
    expect(dockerfilePlatforms([{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }])).toEqual([{ os: 'linux', architecture: 'arm64' }]);
  });
});

describe('readIgnore', () => {
  it('prefers <Dockerfile>.dockerignore to the context\'s, names the file a bad pattern is in, and has no rules without either', async () => {
    const { readIgnore } = await import('../../src/builder/dockerfile-build.js');
    const root = await ctx('ignores', { 'Dockerfile.dockerignore': 'a\n', '.dockerignore': 'b\n', Dockerfile: '' });
    const both = await readIgnore(join(root, 'Dockerfile'), root);
    expect([both.matches('a'), both.matches('b')]).toEqual([true, false]);
    const ctxOnly = await readIgnore(join(root, 'Other'), root);
    expect([ctxOnly.matches('a'), ctxOnly.matches('b')]).toEqual([false, true]);
    const none = await readIgnore(join(root, 'Other'), join(root, 'nowhere'));
    expect(none.isEmpty()).toBe(true);
    expect(both.isEmpty()).toBe(false);
    const bad = await ctx('ignores-bad', { '.dockerignore': '[z-a]\n' });
    await expect(readIgnore(join(bad, 'Dockerfile'), bad)).rejects.toThrow(join(bad, '.dockerignore'));
    const sub = await ctx('ignores-dir', {});
    await mkdir(join(sub, 'Dockerfile.dockerignore'));
    await expect(readIgnore(join(sub, 'Dockerfile'), sub)).rejects.toThrow(`${join(sub, 'Dockerfile.dockerignore')}: a folder; give a file`);
  });
});

/**
 * Builds `root/Dockerfile` in-process (the natively, at epoch 0, into `out`: an OCI layout in
 * `root` unless given, read from `root` as the CLI's working folder); the output read back.
 */
async function buildAt(root: string, extra: Partial<import('../../src/builder/dockerfile-build.js').DockerfileBuildOptions> = {}, out = `oci:${join(root, 'out')}`) {
  const { buildDockerfile } = await import('../../src/builder/dockerfile-build.js');
  const { parseLocation, readLocation } = await import('../../src/transport/location.js');
  const logs: string[] = [];
  const output = parseLocation(out, root, '--output');
  const result = await buildDockerfile({ dockerfile: join(root, 'Dockerfile'), platforms: [], buildArgs: {}, contexts: {}, engine: 'native', labels: {}, tags: [], format: 'oci', compressionLevel: 1, epoch: 0, output, registry: {}, log: (l) => logs.push(l), ...extra });
  return { root, result, logs, output, written: await readLocation(output) };
}

/** Builds `text` in-process from a fresh context holding `files` into an OCI layout; the output read back. */
let builds = 0;
async function dfBuild(files: Record<string, string>, text: string, extra: Partial<import('../../src/builder/dockerfile-build.js').DockerfileBuildOptions> = {}) {
  const root = await ctx(`inproc-${builds++}`, { Dockerfile: text, ...files });
  return buildAt(root, { dockerfileName: 'Dockerfile', ...extra });
}

type EngineRequest = import('../../src/builder/engines/engine.js').EngineBuildRequest;

/**
 * A RUN engine that runs nothing: `onBuild` sees each request (and may throw), then it hands
 * back an empty image with `containerConfig`, for the request's platform unless `platformOf` says.
 */
async function emptyEngine(containerConfig: Record<string, unknown>, onBuild: (req: EngineRequest) => unknown = () => {}, platformOf = (req: EngineRequest): Platform => req.platform): Promise<import('../../src/builder/engines/engine.js').RunEngine> {
  const { assembleImage } = await import('../../src/image/assemble.js');
  const { fileBlobs } = await import('../../src/transport/file-blobs.js');
  return {
    name: 'docker',
    available: async () => true,
    build: async (req) => {
      await onBuild(req);
      const a = assembleImage({ base: undefined, layers: [], changes: { platform: platformOf(req), created: 0, containerConfig, history: [] }, format: 'oci' });
      return { kind: 'image', ...a, blobs: fileBlobs(new Map(), 'fake engine') };
    },
  };
}

describe('buildDockerfile in-process', () => {
  type Opts = import('../../src/builder/dockerfile-build.js').DockerfileBuildOptions;
  type Req = import('../../src/builder/engines/engine.js').EngineBuildRequest;



  /** An engine that records each request (with its ignore file's text, read while the work folder is there). */
  const fakeEngine = (seen: Req[], fail?: Error, ignoreTexts: string[] = []) =>
    emptyEngine({ Env: ['E=1'] }, async (req) => {
      seen.push(req);
      if (req.ignoreFile) ignoreTexts.push(await readFile(req.ignoreFile, 'utf8'));
      req.log('step one');
      if (fail) throw fail;
    });

  it('builds natively: the result names the engine, platform, digest and layers; labels reach the config', async () => {
    const { parseReference } = await import('../../src/oci/reference.js');
    const { result, logs, written } = await dfBuild({ a: 'a' }, 'FROM scratch\nCOPY a /\n', { labels: { l: 'v' }, tags: [parseReference('example.com/app:1', { what: 't', strict: false })] });
    expect(written.kind).toBe('image');
    const img = written as Image;
    expect(result).toEqual({ digest: img.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', output: expect.stringMatching(/^oci:.*\/out$/), tags: ['example.com/app:1'], images: [{ platform: 'linux/amd64', digest: img.digest, layers: 1 }], engine: 'native', warnings: [], bases: [] });
    expect(img.config.config).toEqual({ Env: [DEFAULT_PATH], WorkingDir: '/', Labels: { l: 'v' } });
    expect(logs).toEqual([]);
  });

  it('warns of build args no ARG declares, in the log and the result', async () => {
    const { result, logs } = await dfBuild({}, 'FROM scratch\nARG USED\nLABEL u=$USED\n', { buildArgs: { USED: '1', EXTRA: '2' } });
    expect(logs).toEqual(['warning: build-args were given but not consumed (no ARG declares them): EXTRA']);
    expect(result.warnings).toEqual(['build-args were given but not consumed (no ARG declares them): EXTRA']);
  });

  it('builds an index over several platforms, each platform\'s files its own', async () => {
    const { result, written } = await dfBuild({ a: 'a' }, 'FROM scratch\nARG TARGETARCH\nCOPY a /$TARGETARCH\n', { platforms: [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'amd64' }] });
    expect(written.kind).toBe('index');
    expect(result.images.map((i) => `${i.platform} ${i.layers}`)).toEqual(['linux/amd64 1', 'linux/arm64 1']);
    expect(result.digest).toBe(written.digest);
    expect(result.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const index = written as import('../../src/transport/image.js').Index;
    for (const desc of index.index.manifests) {
      const child = (await index.child(desc)) as Image;
      const tree = await imageTree(child);
      expect([...tree.nodes.keys()]).toEqual([desc.platform!.architecture]);
    }
  });

  it('refuses a folder or a missing file as the Dockerfile and a context that is not a folder, naming them as given', async () => {
    const { buildDockerfile } = await import('../../src/builder/dockerfile-build.js');
    const { parseLocation } = await import('../../src/transport/location.js');
    const root = await ctx('inproc-refuse', { Dockerfile: 'FROM scratch\n', file: 'x' });
    await mkdir(join(root, 'adir'));
    const base: Opts = { dockerfile: join(root, 'Dockerfile'), platforms: [], buildArgs: {}, contexts: {}, engine: 'native', labels: {}, tags: [], format: 'oci', compressionLevel: 1, epoch: 0, output: parseLocation(`oci:${join(root, 'out')}`, root, '--output'), registry: {}, log: () => {} };
    await expect(buildDockerfile({ ...base, dockerfile: join(root, 'adir'), dockerfileName: 'adir' })).rejects.toThrow('--dockerfile adir: a folder; give a file');
    await expect(buildDockerfile({ ...base, dockerfile: join(root, 'missing'), dockerfileName: 'missing' })).rejects.toThrow('--dockerfile missing: no such file');
    await expect(buildDockerfile({ ...base, dockerfile: join(root, 'missing') })).rejects.toThrow(`--dockerfile ${join(root, 'missing')}: no such file`);
    await expect(buildDockerfile({ ...base, context: join(root, 'file') })).rejects.toThrow(`--context ${join(root, 'file')}: not a folder`);
    await expect(buildDockerfile({ ...base, context: join(root, 'nothing') })).rejects.toThrow(`--context ${join(root, 'nothing')}: not a folder`);
    await expect(buildDockerfile({ ...base, dockerfile: join(root, 'Dockerfile'), context: undefined, engine: 'native' }).then(() => 'ok')).resolves.toBe('ok');
    await expect(readdir(root)).resolves.toEqual(expect.arrayContaining(['out']));
  });

  it('names the Dockerfile by its path in messages when no name is given', async () => {
    const { buildDockerfile } = await import('../../src/builder/dockerfile-build.js');
    const { parseLocation } = await import('../../src/transport/location.js');
    const root = await ctx('inproc-named', { Dockerfile: 'FROM scratch\nCOPY nothing /\n' });
    const opts: Opts = { dockerfile: join(root, 'Dockerfile'), platforms: [], buildArgs: {}, contexts: {}, engine: 'native', labels: {}, tags: [], format: 'oci', compressionLevel: 1, epoch: 0, output: parseLocation(`oci:${join(root, 'out')}`, root, '--output'), registry: {}, log: () => {} };
    await expect(buildDockerfile(opts)).rejects.toThrow(`${join(root, 'Dockerfile')}:2: COPY`);
  });

  it('refuses ADD of a git@ address or an upper-case scheme without --checksum, whichever source it is', async () => {
    const message = (url: string) => `Dockerfile:2: ADD: "${url}": ADD of a URL needs --checksum=sha256:<hex>, so the build is reproducible`;
    await expect(dfBuild({}, 'FROM scratch\nADD git@github.com:o/r.git /src\n')).rejects.toThrow(message('git@github.com:o/r.git'));
    await expect(dfBuild({ a: 'a' }, 'FROM scratch\nADD a HTTP://Example.com/x /d/\n')).rejects.toThrow(message('HTTP://Example.com/x'));
    await expect(dfBuild({ 'git@local': 'at' }, 'FROM scratch\nADD git@local /d/\n')).rejects.toThrow(message('git@local'));
    const { written } = await dfBuild({ 'x:y': 'colon', 'mygit@': 'at' }, 'FROM scratch\nADD x:y mygit@ /d/\n');
    expect([...(await imageTree(written as Image)).nodes.keys()].sort()).toEqual(['d', 'd/mygit@', 'd/x:y']);
  });

  it('asks for the commit only when the Dockerfile names BUILD_COMMIT_SHA (natively) and only once; a given one is not looked up', async () => {
    let asked = 0;
    const lookup = async () => { asked++; return 'c0ffee'; };
    await dfBuild({}, 'FROM scratch\nLABEL x=1\n', { commitShaLookup: lookup });
    expect(asked).toBe(0);
    const { written } = await dfBuild({}, 'FROM scratch\nARG BUILD_COMMIT_SHA\nLABEL c=$BUILD_COMMIT_SHA\n', { commitShaLookup: lookup });
    expect(asked).toBe(1);
    expect((written as Image).config.config?.Labels).toEqual({ c: 'c0ffee' });
    const given = await dfBuild({}, 'FROM scratch\nARG BUILD_COMMIT_SHA\nLABEL c=$BUILD_COMMIT_SHA\n', { commitSha: 'given', commitShaLookup: lookup });
    expect(asked).toBe(1);
    expect((given.written as Image).config.config?.Labels).toEqual({ c: 'given' });
  });

  it('reads FROM and COPY --from of named contexts: a folder\'s files, berth:static as an image; refuses FROM a folder', async () => {
    const files = await ctx('inproc-files', { f: 'from folder' });
    const contexts = { files: { kind: 'dir' as const, path: files }, st: { kind: 'image' as const, base: { kind: 'static' as const } } };
    const { written, result } = await dfBuild({}, 'FROM st\nCOPY --from=files f /f\nCOPY --from=st /etc/passwd /p\n', { contexts });
    const img = written as Image;
    expect(img.manifest.layers).toHaveLength(3);
    const tree = await imageTree(img);
    expect((await tree.readSmall('f'))?.toString()).toBe('from folder');
    expect((await tree.readSmall('p'))?.toString()).toMatch(/^root:x:0:0:/);
    expect(result.bases).toEqual([]);
    await expect(dfBuild({}, 'FROM files\n', { contexts })).rejects.toThrow('Dockerfile:1: FROM files: that build context is a folder, not an image');
  });

  it('takes an image the Dockerfile names from knownImages, and refuses an invalid reference on its line', async () => {
    const { written } = await dfBuild({}, 'ARG B=mybase\nFROM $B\nCOPY --from=mybase /etc/group /g\n', { knownImages: { mybase: { kind: 'static' } } });
    const tree = await imageTree(written as Image);
    expect((await tree.readSmall('g'))?.toString()).toMatch(/^root:x:0:/);
    await expect(dfBuild({}, 'FROM scratch\nCOPY --from=Bad_Ref /x /x\n')).rejects.toThrow(/^Dockerfile:2: .*"Bad_Ref"/);
  });

  it('hands a RUN engine the build: contexts, images read by berth, args with the commit, its log prefixed; FROM scratch gets WorkingDir /', async () => {
    const seen: Req[] = [];
    const engine = await fakeEngine(seen);
    const files = await ctx('inproc-engine-files', { f: 'f' });
    let asked = 0;
    const { root, result, logs, written } = await dfBuild({}, 'FROM scratch AS one\nCOPY --from=mybase /etc/group /g\nFROM mybase AS two\nCOPY --from=mybase /etc/passwd /p\nFROM scratch\nCOPY --from=one /g /g\nCOPY --from=two /p /p\nRUN true\n', {
      engine: 'docker', engines: { docker: engine }, labels: { l: 'v' }, buildArgs: { A: '1' }, epoch: 86400, target: undefined,
      contexts: { files: { kind: 'dir', path: files }, st: { kind: 'image', base: { kind: 'static' } } },
      knownImages: { mybase: { kind: 'static' } },
      commitShaLookup: async () => { asked++; return 'abc123'; },
    });
    expect(asked).toBe(1);
    expect(result.engine).toBe('docker');
    expect(logs).toEqual(['warning: build-args were given but not consumed (no ARG declares them): A', 'docker linux/amd64: step one']);
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    const { contextLocalName } = await import('../../src/builder/engines/engine.js');
    const stImage = (req.namedContexts.st as { image: Image }).image;
    expect({ ...req, log: undefined, images: req.images?.map((i) => `${i.ref} ${i.image.digest === stImage.digest}`), namedContexts: undefined }).toEqual({
      dockerfile: join(root, 'Dockerfile'), dockerfileName: 'Dockerfile', contextDir: root, platform: { os: 'linux', architecture: 'amd64' }, buildArgs: { BUILD_COMMIT_SHA: 'abc123', A: '1' },
      images: ['mybase true'], workDir: expect.stringMatching(/\/engine-0$/), ignoreFile: expect.stringMatching(/\/engine-0\/context\.dockerignore$/), epoch: 86400, format: 'oci', compressionLevel: 1, log: undefined, namedContexts: undefined,
    });
    expect(req.namedContexts).toEqual({ files: { kind: 'dir', path: files }, st: { kind: 'image', image: stImage, localName: contextLocalName('st', stImage) } });
    const img = written as Image;
    expect(img.config.config).toEqual({ Env: ['E=1'], WorkingDir: '/', Labels: { l: 'v' } });
    expect(img.config.created).toBe('1970-01-02T00:00:00Z');
    expect(result.digest).toBe(img.digest);
  });

  it('gives a RUN engine the ignore rules berth read, with its work folder added when that is in the context', async () => {
    const texts: string[] = [];
    const engine = await fakeEngine([], undefined, texts);
    // The output's folder `out` is made by the build: the work folder goes beside it, in the context.
    await dfBuild({ '.dockerignore': '*.log\n!keep.log' }, 'FROM scratch\nRUN true\n', { engine: 'docker', engines: { docker: engine } });
    await dfBuild({ 'Dockerfile.dockerignore': 'secret\n' }, 'FROM scratch\nRUN true\n', { engine: 'docker', engines: { docker: engine } });
    expect(texts).toEqual([expect.stringMatching(/^\*\.log\n!keep\.log\n\/\.berth-work-[^/\n]+\n$/), expect.stringMatching(/^secret\n\/\.berth-work-[^/\n]+\n$/)]);
    // The work folder outside the context: the rules as they are.
    const root = await ctx('inproc-ignore-outside', { Dockerfile: 'FROM scratch\nRUN true\n', '.dockerignore': 'a\n' });
    await buildAt(root, { engine: 'docker', engines: { docker: engine } }, `oci:${join(await ctx('inproc-ignore-elsewhere', {}), 'out')}`);
    expect(texts[2]).toBe('a\n');
  });

  it('passes target and signal, lets a given BUILD_COMMIT_SHA build arg win, and adds no WorkingDir over a base', async () => {
    const seen: Req[] = [];
    const engine = await fakeEngine(seen);
    const signal = new AbortController().signal;
    const { written } = await dfBuild({}, 'FROM mybase AS t\nRUN true\nFROM scratch AS other\n', {
      engine: 'docker', engines: { docker: engine }, target: 't', signal, buildArgs: { BUILD_COMMIT_SHA: 'mine' }, commitSha: 'sha', knownImages: { mybase: { kind: 'static' } },
    });
    expect(seen[0]).toMatchObject({ target: 't', signal, buildArgs: { BUILD_COMMIT_SHA: 'mine' } });
    expect('dockerfileName' in seen[0]!).toBe(true);
    expect((written as Image).config.config).toEqual({ Env: ['E=1'] });
    const noName: Req[] = [];
    await buildAt(await ctx('inproc-noname', { Dockerfile: 'FROM scratch\nRUN true\n' }), { engine: 'docker', engines: { docker: await fakeEngine(noName) } });
    expect(Object.keys(noName[0]!).filter((key) => ['dockerfileName', 'signal', 'target', 'images'].includes(key))).toEqual([]);
    expect(noName[0]!.buildArgs).toEqual({});
  });

  it('names the platform in an engine\'s failure, and checks emulation before the engine runs', async () => {
    const { UsageError } = await import('../../src/errors.js');
    const { formatPlatform } = await import('../../src/oci/platform.js');
    const { hostPlatform } = await import('../../src/builder/engines/platform-args.js');
    const seen: Req[] = [];
    await expect(dfBuild({}, 'FROM scratch\nRUN true\n', { engine: 'docker', engines: { docker: await fakeEngine(seen, new UsageError('BAD_DOCKERFILE', 'Dockerfile:2: boom')) } })).rejects.toMatchObject({ code: 'BAD_DOCKERFILE', message: 'linux/amd64: Dockerfile:2: boom' });
    const plain = new Error('not berth\'s');
    await expect(dfBuild({}, 'FROM scratch\nRUN true\n', { engine: 'docker', engines: { docker: await fakeEngine(seen, plain) } })).rejects.toBe(plain);
    expect(seen).toHaveLength(2);
    const windows: Platform = { os: 'windows', architecture: 'amd64' };
    await expect(dfBuild({}, 'FROM scratch\nCOPY Dockerfile /\nRUN true\n', { engine: 'docker', engines: { docker: await fakeEngine(seen) }, platforms: [windows] })).rejects.toThrow(new UsageError('FOREIGN_BINARY', `Dockerfile:3: this machine (${formatPlatform(hostPlatform())}) cannot run programs for windows/amd64`));
    expect(seen).toHaveLength(2);
    await expect(dfBuild({}, 'FROM scratch\nRUN true\n', { engine: 'native' })).rejects.toThrow('--engine native: Dockerfile:2 has RUN, which the native engine does not run; use --engine auto, buildah or docker');
  });
});

describe('checkRunPlatforms', () => {
  it('refuses a RUN stage for a platform this machine cannot run, naming the line; passes a RUN on the build platform', async () => {
    const { checkRunPlatforms } = await import('../../src/builder/dockerfile-build.js');
    const { formatPlatform } = await import('../../src/oci/platform.js');
    const { hostPlatform } = await import('../../src/builder/engines/platform-args.js');
    const root = await ctx('run-platforms', { Dockerfile: 'FROM --platform=$BUILDPLATFORM scratch AS b\nRUN ok\nFROM scratch AS t\nCOPY --from=b / /\nRUN foreign\n' });
    const windows: Platform = { os: 'windows', architecture: 'amd64' };
    const opts = { dockerfile: join(root, 'Dockerfile'), dockerfileName: 'Dockerfile', platforms: [hostPlatform(), windows], buildArgs: {}, contextNames: [] };
    await expect(checkRunPlatforms(opts)).rejects.toThrow(`Dockerfile:5: this machine (${formatPlatform(hostPlatform())}) cannot run programs for windows/amd64`);
    await expect(checkRunPlatforms({ ...opts, target: 'b' })).resolves.toBeUndefined();
    await expect(checkRunPlatforms({ ...opts, dockerfileName: undefined as unknown as string })).rejects.toThrow(`${join(root, 'Dockerfile')}:5: this machine`);
    await expect(checkRunPlatforms({ ...opts, platforms: [hostPlatform()] })).resolves.toBeUndefined();
  });
});

describe('buildDockerfile in-process: more', () => {
  type Req = import('../../src/builder/engines/engine.js').EngineBuildRequest;
  const engineGiving = (seen: Req[], containerConfig: Record<string, unknown>) => emptyEngine(containerConfig, (req) => seen.push(req));

  it('says "cannot read" with the code for a Dockerfile that is a symlink loop', async () => {
    const { symlink } = await import('node:fs/promises');
    const root = await ctx('more-loop', {});
    await symlink('loop', join(root, 'loop'));
    await expect(buildAt(root, { dockerfile: join(root, 'loop'), dockerfileName: 'loop' })).rejects.toThrow('--dockerfile loop: cannot read (ELOOP)');
  });

  it('keeps the WorkingDir an engine set over scratch, and hands it images named by FROM only and by COPY --from only', async () => {
    const seen: Req[] = [];
    const { written } = await dfBuild({}, 'FROM scratch AS a\nCOPY --from=copied /etc/group /g\nFROM based AS b\nFROM scratch\nCOPY --from=a /g /g\nCOPY --from=b /etc/passwd /p\nRUN true\n', {
      engine: 'docker', engines: { docker: await engineGiving(seen, { WorkingDir: '/app' }) }, knownImages: { copied: { kind: 'static' }, based: { kind: 'static' } },
    });
    expect((written as Image).config.config).toEqual({ WorkingDir: '/app' });
    expect(seen[0]!.images?.map((i) => i.ref)).toEqual(['copied', 'based']);
    expect(seen[0]!.namedContexts).toEqual({});
  });

  it('reads an image context for the platform of the stage that uses it, naming the line and context when it has none for it', async () => {
    const { parseLocation } = await import('../../src/transport/location.js');
    const made = await dfBuild({ a: 'a' }, 'FROM scratch\nCOPY a /a\n');
    const location = parseLocation(`oci:${join(made.root, 'out')}`, made.root, 'x');
    const contexts = { img: { kind: 'image' as const, base: { kind: 'location' as const, location } } };
    const arm64: Platform = { os: 'linux', architecture: 'arm64' };
    await expect(dfBuild({}, '# line 1\nFROM img\n', { contexts, platforms: [arm64] })).rejects.toThrow('Dockerfile:2: img: is an image for linux/amd64, not linux/arm64');
    await expect(dfBuild({}, 'FROM scratch\nCOPY --from=base /a /a\n', { knownImages: { base: { kind: 'location', location } }, platforms: [arm64] })).rejects.toThrow('Dockerfile:2: base: is an image for linux/amd64, not linux/arm64');
    const ok = await dfBuild({}, 'FROM --platform=linux/amd64 img AS src\nFROM scratch\nCOPY --from=src /a /b\n', { contexts, platforms: [arm64] });
    expect((ok.written as Image).config.architecture).toBe('arm64');
    expect((await (await imageTree(ok.written as Image)).readSmall('b'))?.toString()).toBe('a');
  });
});

describe('berth:static as a build context', () => {
  it('is berth\'s static base: its files as listed at the epoch, one history entry, the static config for the stage\'s platform', async () => {
    const { STATIC_BASE_FILES, staticBaseConfig } = await import('../../src/image/static-base.js');
    const { createGunzip } = await import('node:zlib');
    const { pipeline } = await import('node:stream/promises');
    const tarStream = (await import('tar-stream')).default;
    const root = await ctx('static-ctx', { Dockerfile: 'FROM st\n' });
    const arm64: Platform = { os: 'linux', architecture: 'arm64' };
    const img = (await buildAt(root, { dockerfileName: 'Dockerfile', platforms: [arm64], contexts: { st: { kind: 'image', base: { kind: 'static' } } }, epoch: 1000 })).written as Image;
    expect(img.config.history).toEqual([{ created: '1970-01-01T00:16:40Z', created_by: 'berth base static' }]);
    expect(img.config.config).toEqual(staticBaseConfig(arm64).config);
    expect([img.config.os, img.config.architecture, img.config.created]).toEqual(['linux', 'arm64', '1970-01-01T00:16:40Z']);
    expect(img.manifest.layers).toHaveLength(1);
    const entries: { path: string; type: string; mode: number; uid: number; gid: number; mtime: number; content?: string }[] = [];
    const extract = tarStream.extract();
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const content = Buffer.concat(chunks).toString();
        entries.push({ path: h.name.replace(/\/$/, ''), type: h.type === 'directory' ? 'directory' : 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, ...(h.type === 'file' ? { content } : {}) });
        next();
      });
    });
    await pipeline(await img.blobs.open(img.manifest.layers[0]!), createGunzip(), extract);
    const expected = STATIC_BASE_FILES.map((f) => ({ path: f.path, type: f.type, mode: f.mode, uid: f.uid, gid: f.gid, mtime: 1000, ...(f.type === 'file' ? { content: f.content ?? '' } : {}) }));
    expect(entries.sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual(expected.sort((a, b) => (a.path < b.path ? -1 : 1)));
  });
});

describe('the work folder of a build', () => {
  type Req = import('../../src/builder/engines/engine.js').EngineBuildRequest;
  async function run(root: string, outputText: string, text: string) {
    const { buildDockerfile } = await import('../../src/builder/dockerfile-build.js');
    const { parseLocation } = await import('../../src/transport/location.js');
    const { UsageError } = await import('../../src/errors.js');
    await writeFile(join(root, 'Dockerfile'), text);
    const seen: Req[] = [];
    const engine = await emptyEngine({ WorkingDir: '/' }, (req) => {
      seen.push(req);
      if (text.includes('fail')) throw new UsageError('BAD_DOCKERFILE', 'Dockerfile:2: the engine failed');
    });
    const output = parseLocation(outputText, root, '--output');
    const result = await buildDockerfile({ dockerfile: join(root, 'Dockerfile'), dockerfileName: 'Dockerfile', platforms: [], buildArgs: {}, contexts: {}, engine: 'docker', engines: { docker: engine }, labels: {}, tags: [], format: 'oci', compressionLevel: 1, epoch: 0, output, registry: {}, log: () => {} })
      .then((r) => r, (err: Error) => err);
    return { seen, result };
  }
  const parentOf = (req: Req) => join(req.workDir, '..', '..');
  const works = async (path: string) => (await readdir(path)).filter((f) => f.startsWith('.berth-work'));

  it('goes beside a tarball, inside an existing layout, beside a new one; removed after', async () => {
    const root = await ctx('work-where', {});
    await mkdir(join(root, 'lay'));
    const tar = await run(root, join(root, 'img.tar'), 'FROM scratch\nRUN true\n');
    expect(parentOf(tar.seen[0]!)).toBe(root);
    expect(tar.result).toMatchObject({ output: join(root, 'img.tar') });
    const existing = await run(root, `oci:${join(root, 'lay')}`, 'FROM scratch\nRUN true\n');
    expect(parentOf(existing.seen[0]!)).toBe(join(root, 'lay'));
    const fresh = await run(root, `oci:${join(root, 'new')}`, 'FROM scratch\nRUN true\n');
    expect(parentOf(fresh.seen[0]!)).toBe(root);
    expect(await works(root)).toEqual([]);
    expect(await works(join(root, 'lay'))).toEqual([]);
    expect((await readdir(join(root, 'new'))).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('goes to the temp folder when the tarball streams to a device', async () => {
    const { tmpdir } = await import('node:os');
    const root = await ctx('work-stream', {});
    const streamed = await run(root, '/dev/null', 'FROM scratch\nRUN true\n');
    expect(parentOf(streamed.seen[0]!)).toBe(tmpdir());
    expect(streamed.result).toMatchObject({ output: '/dev/null' });
    expect(await readdir(root)).toEqual(['Dockerfile']);
  });

  it('leaves no folder behind when a build into a new nested layout fails, and keeps an existing layout', async () => {
    const root = await ctx('work-fail', {});
    const failed = await run(root, `oci:${join(root, 'a', 'b', 'out')}`, 'FROM scratch\nRUN fail\n');
    expect((failed.result as Error).message).toBe('linux/amd64: Dockerfile:2: the engine failed');
    expect(failed.seen).toHaveLength(1);
    expect(await readdir(root)).toEqual(['Dockerfile']);
    await mkdir(join(root, 'lay'));
    await writeFile(join(root, 'lay', 'keep'), 'k');
    const again = await run(root, `oci:${join(root, 'lay')}`, 'FROM scratch\nRUN fail\n');
    expect((again.result as Error).message).toBe('linux/amd64: Dockerfile:2: the engine failed');
    expect(parentOf(again.seen[0]!)).toBe(join(root, 'lay'));
    expect(await readdir(join(root, 'lay'))).toEqual(['keep']);
  });
});

describe('output problems, named by the output', () => {
  it('refuses a layout on a device and a folder under a file, naming the path given', async () => {
    const { buildDockerfile } = await import('../../src/builder/dockerfile-build.js');
    const { parseLocation } = await import('../../src/transport/location.js');
    const root = await ctx('out-problems', { Dockerfile: 'FROM scratch\nCOPY a /\n', a: 'a', afile: 'f' });
    const opts = (out: string) => ({ dockerfile: join(root, 'Dockerfile'), dockerfileName: 'Dockerfile', platforms: [], buildArgs: {}, contexts: {}, engine: 'native' as const, labels: {}, tags: [], format: 'oci' as const, compressionLevel: 1, epoch: 0, output: parseLocation(out, root, '--output'), registry: {}, log: () => {} });
    await expect(buildDockerfile(opts('oci:/dev/null'))).rejects.toThrow('cannot write /dev/null: not a folder (a device, FIFO, socket or stdout); an OCI layout is a folder');
    const err = await buildDockerfile(opts(`oci:${join(root, 'afile', 'out')}`)).catch((e: Error) => e);
    expect((err as Error).message).toBe(`cannot write ${join(root, 'afile', 'out')}: ${join(root, 'afile')} is not a directory (ENOTDIR)`);
    expect((await readdir(root)).sort()).toEqual(['Dockerfile', 'a', 'afile']);
  });
});

describe('writeStaticBase', () => {
  it('writes the static base for one platform as an image, for several as an index in index order, reporting each', async () => {
    const { writeStaticBase } = await import('../../src/builder/base-command.js');
    const { parseLocation, readLocation } = await import('../../src/transport/location.js');
    const { parseReference } = await import('../../src/oci/reference.js');
    const root = await ctx('static-write', {});
    const arm64: Platform = { os: 'linux', architecture: 'arm64' };
    const amd64: Platform = { os: 'linux', architecture: 'amd64' };
    const one = parseLocation(`oci:${join(root, 'one')}`, root, '--output');
    const r1 = await writeStaticBase({ platforms: [arm64], output: one, tags: [], format: 'oci', level: 1, epoch: 0 });
    const img = (await readLocation(one)) as Image;
    expect(r1).toEqual({ digest: img.digest, platforms: ['linux/arm64'], output: expect.stringMatching(/one$/), images: [{ platform: 'linux/arm64', digest: img.digest }] });
    expect(img.config.architecture).toBe('arm64');
    const two = join(root, 'two.tar');
    const r2 = await writeStaticBase({ platforms: [arm64, amd64], output: parseLocation(two, root, '--output'), tags: [parseReference('example.com/static:1', { what: 't', strict: false })], format: 'docker', level: 1, epoch: 0 });
    const index = (await readLocation(parseLocation(two, root, 'x'))) as import('../../src/transport/image.js').Index;
    expect(index.kind).toBe('index');
    expect(r2.digest).toBe(index.digest);
    expect(r2.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(r2.images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(r2.images.map((i) => i.digest)).toEqual(index.index.manifests.map((m) => m.digest));
    expect(index.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(r2.output).toBe(two);
    const amdImage = (await index.child(index.index.manifests[0]!)) as Image;
    const armImage = (await index.child(index.index.manifests[1]!)) as Image;
    expect(amdImage.manifest.layers).toEqual(armImage.manifest.layers);
    expect([amdImage.config.architecture, armImage.config.architecture]).toEqual(['amd64', 'arm64']);
  });
});

describe('the build context of a native build', () => {
  const buildInto = async (root: string, out: string) => (await buildAt(root, {}, out)).written as Image;

  it('leaves out what .dockerignore names, and COPY . copies the rest', async () => {
    const root = await ctx('ignored', { Dockerfile: 'FROM scratch\nCOPY . /c/\n', '.dockerignore': 'b\nDockerfile\n.dockerignore\nout\nimg*.tar\n', a: 'a', b: 'b' });
    const img = await buildInto(root, `oci:${join(root, 'out')}`);
    expect([...(await imageTree(img)).nodes.keys()].sort()).toEqual(['c', 'c/a']);
    expect((await buildInto(root, join(root, 'img1.tar'))).digest).toBe(img.digest);
  });

  it('never copies its own work folder when the output is in the context (an .dockerignore with exceptions too): one digest every time', async () => {
    const root = await ctx('work-in-context', { Dockerfile: 'FROM scratch\nCOPY . /c/\n', '.dockerignore': 'Dockerfile\n.dockerignore\nimg*.tar\nsub\n!sub/keep\n', a: 'a' });
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'sub', 'keep'), 'k');
    await writeFile(join(root, 'sub', 'drop'), 'd');
    const first = await buildInto(root, join(root, 'img1.tar'));
    expect([...(await imageTree(first)).nodes.keys()].sort()).toEqual(['c', 'c/a', 'c/sub', 'c/sub/keep']);
    expect((await buildInto(root, join(root, 'img2.tar'))).digest).toBe(first.digest);
  });
});

describe('buildDockerfile in-process: a URL only at the start, warnings in the log', () => {
  const buildIn = async (root: string) => {
    const { logs, written } = await buildAt(root, { dockerfileName: 'Dockerfile' });
    return { logs, img: written as Image };
  };

  it('takes a path with `x://` inside it for a path, not a URL', async () => {
    const root = await ctx('url-inside', { Dockerfile: 'FROM scratch\nADD sub/h://f /x\n' });
    await mkdir(join(root, 'sub', 'h:'), { recursive: true });
    await writeFile(join(root, 'sub', 'h:', 'f'), 'inside');
    const { img } = await buildIn(root);
    expect((await (await imageTree(img)).readSmall('x'))?.toString()).toBe('inside');
  });

  it('logs a foreign program copied into the image as a warning', async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(8), Buffer.from([2, 0, 0xb7, 0]), Buffer.alloc(44)]);
    const root = await ctx('elf-warn', { Dockerfile: 'FROM scratch\nCOPY tool /tool\n' });
    await writeFile(join(root, 'tool'), elf);
    const { logs } = await buildIn(root);
    expect(logs).toEqual(['warning: Dockerfile:2: COPY: /tool is ELF 64-bit LSB ARM aarch64 (linux/arm64), not a program for linux/amd64, the image\'s platform']);
  });
});

describe('FROM an image in a registry', () => {
  let registry: import('../helpers/registry.js').TestRegistry | undefined;
  afterAll(async () => registry?.stop());

  it('pulls it for the platform, and reports it once among the bases by name and digest', async () => {
    const { startRegistry } = await import('../helpers/registry.js');
    const { writeStaticBase } = await import('../../src/builder/base-command.js');
    const { parseLocation } = await import('../../src/transport/location.js');
    registry = await startRegistry();
    const root = await ctx('from-registry', {});
    const base = await writeStaticBase({ platforms: [{ os: 'linux', architecture: 'amd64' }], output: parseLocation(join(root, 'base.tar'), root, 'x'), tags: [], format: 'oci', level: 1, epoch: 0 });
    const ref = `${registry.host}/base/static:1`;
    expect((await berth(['push', 'base.tar', ref], { cwd: root })).code).toBe(0);
    await writeFile(join(root, 'Dockerfile'), `FROM ${ref}\nCOPY --from=${ref} /etc/group /g\n`);
    const { result, written } = await buildAt(root, { dockerfileName: 'Dockerfile', registry: { cacheDir: join(root, 'cache') } });
    expect(result.bases).toEqual([{ name: ref, digest: base.digest }]);
    const img = written as Image;
    expect(img.manifest.layers).toHaveLength(2);
    expect((await (await imageTree(img)).readSmall('g'))?.toString()).toMatch(/^root:x:0:/);
  });
});

describe('an engine\'s image normalized for the platform', () => {
  it('gets the variant of the platform it was built for when the engine left it out', async () => {
    const root = await ctx('engine-variant', { Dockerfile: 'FROM --platform=$BUILDPLATFORM scratch AS b\nRUN build\nFROM scratch\nCOPY --from=b /x /x\n' });
    const platforms: Platform[] = [];
    const engine = await emptyEngine({ Env: ['E=1'] }, (req) => platforms.push(req.platform), (req) => ({ os: req.platform.os, architecture: req.platform.architecture }));
    const { result, written } = await buildAt(root, { dockerfileName: 'Dockerfile', platforms: [{ os: 'linux', architecture: 'arm', variant: 'v7' }], engine: 'docker', engines: { docker: engine } });
    expect(platforms).toEqual([{ os: 'linux', architecture: 'arm', variant: 'v7' }]);
    const img = written as Image;
    expect([img.config.os, img.config.architecture, img.config.variant]).toEqual(['linux', 'arm', 'v7']);
    expect(img.config.config).toEqual({ Env: ['E=1'], WorkingDir: '/' });
    expect(result.images.map((i) => i.platform)).toEqual(['linux/arm/v7']);
  });
});

describe('an image context handed to an engine', () => {
  it('is read for the platform of the stage built FROM it, not the target\'s', async () => {
    const { parseLocation } = await import('../../src/transport/location.js');
    const { hostPlatform } = await import('../../src/builder/engines/platform-args.js');
    const build = hostPlatform();
    const target: Platform = build.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64' };
    const root = await ctx('engine-context-platform', { Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'a' });
    const made = parseLocation(`oci:${join(root, 'img')}`, root, 'x');
    await buildAt(root, { dockerfileName: 'Dockerfile', platforms: [build] }, `oci:${join(root, 'img')}`);
    await writeFile(join(root, 'Dockerfile'), 'FROM --platform=$BUILDPLATFORM img AS b\nRUN x\nFROM scratch\nCOPY --from=b /a /a\nCOPY --from=other /etc/group /g\n');
    const handed: string[] = [];
    const engine = await emptyEngine({ WorkingDir: '/' }, (req) => {
      for (const [name, c] of Object.entries(req.namedContexts)) if (c.kind === 'image') handed.push(`${name} ${c.image.config.architecture}`);
    });
    await buildAt(root, { dockerfileName: 'Dockerfile', platforms: [target], contexts: { img: { kind: 'image', base: { kind: 'location', location: made } }, other: { kind: 'image', base: { kind: 'static' } } }, engine: 'docker', engines: { docker: engine } });
    expect(handed).toEqual([`img ${build.architecture}`, `other ${target.architecture}`]);
  });
});

describe('an engine\'s normalized image, passed through', () => {
  it('is written as the engine gave it when there are no labels to add; labels make a new config over the same layers', async () => {
    const { buildDockerfile } = await import('../../src/builder/dockerfile-build.js');
    const { parseLocation, readLocation } = await import('../../src/transport/location.js');
    const { assembleImage, manifestOver } = await import('../../src/image/assemble.js');
    const { normalizeConfig } = await import('../../src/builder/engines/normalize.js');
    const { encodeJson } = await import('../../src/oci/manifest.js');
    const { mediaTypesFor } = await import('../../src/oci/mediatype.js');
    const { fileBlobs } = await import('../../src/transport/file-blobs.js');
    const root = await ctx('engine-passthrough', { Dockerfile: 'FROM scratch\nRUN true\n' });
    const given: string[] = [];
    const engine = {
      name: 'docker' as const,
      available: async () => true,
      build: async (req: import('../../src/builder/engines/engine.js').EngineBuildRequest): Promise<Image> => {
        // As an engine returns it: normalized (berth's key order), WorkingDir set.
        const a = assembleImage({ base: undefined, layers: [], changes: { platform: req.platform, created: 0, containerConfig: { Env: ['E=1'], WorkingDir: '/w', Labels: { own: '1' } }, history: [{ created_by: 'RUN true', empty_layer: true }] }, format: 'oci' });
        const config = normalizeConfig(a.config, [], [], req.epoch);
        const configRaw = encodeJson(config);
        const image: Image = { kind: 'image', ...a, ...manifestOver(configRaw, [], mediaTypesFor('oci')), configRaw, config, blobs: fileBlobs(new Map(), 'fake engine') };
        given.push(image.digest);
        return image;
      },
    };
    const opts = (out: string, labels: Record<string, string>) => ({ dockerfile: join(root, 'Dockerfile'), dockerfileName: 'Dockerfile', platforms: [], buildArgs: {}, contexts: {}, engine: 'docker' as const, engines: { docker: engine }, labels, tags: [], format: 'oci' as const, compressionLevel: 1, epoch: 7, output: parseLocation(`oci:${join(root, out)}`, root, 'x'), registry: {}, log: () => {} });
    const plain = await buildDockerfile(opts('plain', {}));
    expect(plain.digest).toBe(given[0]);
    const labelled = await buildDockerfile(opts('labelled', { l: 'v' }));
    const img = (await readLocation(parseLocation(`oci:${join(root, 'labelled')}`, root, 'x'))) as Image;
    expect(labelled.digest).not.toBe(given[1]);
    expect(img.config.config?.Labels).toEqual({ own: '1', l: 'v' });
    expect(img.config.history).toEqual([{ created: '1970-01-01T00:00:07Z', created_by: 'RUN true', empty_layer: true }]);
  });
});
