import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { berth, berthBin } from '../helpers/cli.js';
import { makeBusyboxBase } from '../helpers/busybox-base.js';
import { startDockerd } from '../helpers/dockerd.js';
import { startRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';
import { packTar } from '../blob/helpers.js';
import { gzipSync } from 'node:zlib';

const packGzip = async (entries: Parameters<typeof packTar>[0]) => gzipSync(await packTar(entries));

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-dockerfile-'));
});
afterAll(async () => cleanup());

/** Writes files (path → content; mode after a colon in the key: "bin/app:755"). */
async function files(root: string, tree: Record<string, string>): Promise<string> {
  for (const [key, content] of Object.entries(tree)) {
    const [path, mode] = key.split(':') as [string, string | undefined];
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
    await chmod(join(root, path), mode ? parseInt(mode, 8) : 0o644);
  }
  return root;
}

/** The file tree of one platform's image in a tarball, unpacked by umoci: "path mode uid:gid [content]". */
async function unpack(tarball: string, arch: string): Promise<{ tree: string[]; config: Record<string, unknown> }> {
  const work = join(dir, `unpack-${Math.random().toString(36).slice(2)}`);
  await mkdir(work, { recursive: true });
  await run('skopeo', ['copy', '-q', '--override-arch', arch, `oci-archive:${tarball}`, `oci:${work}/layout:x`]);
  await run('umoci', ['unpack', '--image', `${work}/layout:x`, `${work}/bundle`]);
  const tree = await walk(join(work, 'bundle', 'rootfs'));
  const config = JSON.parse(await run('skopeo', ['inspect', '--config', `oci:${work}/layout:x`])) as { config: Record<string, unknown> };
  return { tree, config: config.config };
}

/** Links are reported as links (`path -> target`), never followed: a link turned into a copy shows. */
async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, path));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) {
      out.push(`${path} -> ${await readlink(join(root, path))}`);
    } else if (st.isDirectory()) {
      out.push(`${path}/ ${mode} ${st.uid}:${st.gid}`);
      out.push(...(await walk(root, path)));
    } else {
      out.push(`${path} ${mode} ${st.uid}:${st.gid} ${(await readFile(join(root, path), 'utf8')).trim()}`);
    }
  }
  return out;
}

const MULTI = `# syntax=docker/dockerfile:1
ARG APP=app
FROM --platform=$BUILDPLATFORM scratch AS builder
ARG TARGETARCH
ARG APP
COPY bin/\${APP}-\${TARGETARCH} /out/\${APP}
COPY conf/ /out/conf/

FROM scratch AS unused
COPY nothing-here /x

FROM scratch
ARG TARGETARCH
COPY --from=builder --chown=65532:65532 /out/ /srv/
WORKDIR /srv
ENV MODE=prod
LABEL org.example.arch=$TARGETARCH
EXPOSE 8080
VOLUME /data
USER 65532
STOPSIGNAL SIGINT
ENTRYPOINT ["/srv/app"]
CMD ["--serve"]
`;

describe('berth build --dockerfile, natively', () => {
  it('builds a multi-stage Dockerfile per platform into an index; ARG TARGETARCH picks the file', async () => {
    const ctx = await files(join(dir, 'multi'), { Dockerfile: MULTI, 'bin/app-amd64:755': 'amd64 binary', 'bin/app-arm64:755': 'arm64 binary', 'conf/a.yaml': 'a: 1' });
    const out = join(dir, 'multi.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--tag', 'example.com/app:v1', '--output', out, '--json']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { images: { platform: string }[]; engine: string };
    expect(result.engine).toBe('native');
    expect(result.images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    for (const arch of ['amd64', 'arm64']) {
      const { tree, config } = await unpack(out, arch);
      expect(tree).toEqual(['srv/ 755 65532:65532', 'srv/app 755 65532:65532 ' + `${arch} binary`, 'srv/conf/ 755 65532:65532', 'srv/conf/a.yaml 644 65532:65532 a: 1']);
      expect(config).toMatchObject({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'MODE=prod'], Entrypoint: ['/srv/app'], Cmd: ['--serve'], User: '65532', WorkingDir: '/srv', Labels: { 'org.example.arch': arch }, ExposedPorts: { '8080/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGINT' });
    }
  });

  it('makes one layer per COPY/ADD (and per WORKDIR that creates a folder): globs, several sources, heredocs', async () => {
    const ctx = await files(join(dir, 'layers'), {
      Dockerfile: 'FROM scratch\nWORKDIR /app\nCOPY *.txt ./\nCOPY a.txt conf/ /etc/x/\nCOPY <<EOT /app/hello.sh\n#!/bin/sh\necho $GREETING\nEOT\nWORKDIR /app\nENV K=v\n',
      'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'conf/c.conf': 'conf',
    });
    const out = join(dir, 'layers.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', out]);
    expect(r.code).toBe(0);
    const { tree } = await unpack(out, 'amd64');
    expect(tree).toEqual(['app/ 755 0:0', 'app/a.txt 644 0:0 a', 'app/b.txt 644 0:0 b', 'app/hello.sh 644 0:0 #!/bin/sh\necho', 'etc/ 755 0:0', 'etc/x/ 755 0:0', 'etc/x/a.txt 644 0:0 a', 'etc/x/c.conf 644 0:0 conf']);
    const config = JSON.parse(await run('skopeo', ['inspect', '--config', `oci-archive:${out}`])) as { history: { created_by: string; empty_layer?: boolean }[]; rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toHaveLength(4);
    expect(config.history.map((h) => `${h.empty_layer ? '-' : '+'} ${h.created_by.split('\n')[0]}`)).toEqual(['+ WORKDIR /app', '+ COPY ./', '+ COPY /etc/x/', '+ COPY /app/hello.sh', '- WORKDIR /app', '- ENV K=v']);
  });

  it('honours .dockerignore with exceptions, and <Dockerfile>.dockerignore over it', async () => {
    const ctx = await files(join(dir, 'ignore'), {
      'app.Dockerfile': 'FROM scratch\nCOPY . /c/\n',
      '.dockerignore': '*\n',
      'app.Dockerfile.dockerignore': '# the Dockerfile\'s own rules win\n*.md\n!README.md\nsecret/\n**/*.tmp\n',
      'README.md': 'keep', 'NOTES.md': 'drop', 'secret/key': 'drop', 'src/a.go': 'keep', 'src/x/b.tmp': 'drop',
    });
    const out = join(dir, 'ignore.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'app.Dockerfile'), '--output', out]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    const { tree } = await unpack(out, 'amd64');
    expect(tree.filter((l) => !l.endsWith('/ 755 0:0'))).toEqual(['c/.dockerignore 644 0:0 *', 'c/README.md 644 0:0 keep', 'c/app.Dockerfile 644 0:0 FROM scratch\nCOPY . /c/', expect.stringMatching(/^c\/app\.Dockerfile\.dockerignore 644 0:0/), 'c/src/a.go 644 0:0 keep']);
  });

  it('gives byte-identical output whatever the files\' mtimes and the umask', async () => {
    const build = async (name: string, mode: number, time: number) => {
      const ctx = await files(join(dir, name), { Dockerfile: 'FROM scratch\nCOPY --chmod=0755 tool /usr/bin/tool\nCOPY data /data\nADD pack.tar /unpacked/\n', tool: 't', 'data/a': 'a', 'data/b/c': 'c' });
      await run('tar', ['-cf', join(ctx, 'pack.tar'), '-C', join(ctx, 'data'), '.']);
      for (const p of ['tool', 'data/a', 'data/b/c']) {
        await chmod(join(ctx, p), mode);
        await utimes(join(ctx, p), time, time);
      }
      const out = join(dir, `${name}.tar`);
      const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', out], { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000' } });
      expect(r.stderr).toMatch(/built/);
      return createHash('sha256').update(await readFile(out)).digest('hex');
    };
    expect(await build('repro-a', 0o600, 1000)).toBe(await build('repro-b', 0o644, 2_000_000));
  });

  it('ADD of a URL fetches it only with a matching --checksum', async () => {
    const body = 'downloaded content\n';
    const server: Server = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const sum = createHash('sha256').update(body).digest('hex');
      const ctx = await files(join(dir, 'url'), { Dockerfile: `FROM scratch\nADD --checksum=sha256:${sum} http://127.0.0.1:${port}/files/tool.txt /opt/\n` });
      const out = join(dir, 'url.tar');
      expect((await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', out])).code).toBe(0);
      expect((await unpack(out, 'amd64')).tree).toContain('opt/tool.txt 600 0:0 downloaded content');
      await writeFile(join(ctx, 'Dockerfile'), `FROM scratch\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/x /x\n`);
      const bad = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', join(dir, 'url-bad.tar')]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/Dockerfile:2: ADD: .*not the --checksum/);
    } finally {
      server.close();
    }
  });

  it('starts FROM berth\'s static base given as a build context, and from an image tarball', async () => {
    const base = join(dir, 'static.tar');
    expect((await berthBin(['base', 'static', '--output', base])).code).toBe(0);
    const ctx = await files(join(dir, 'static'), { Dockerfile: 'FROM base\nCOPY --chown=nonroot:nonroot app /home/nonroot/app\nFROM img\nCOPY --from=0 /etc/passwd /p\n', app: 'x' });
    const out = join(dir, 'static-out.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--target', 'x', '--output', out]);
    expect(r.stderr).toMatch(/--target x: .* has no stage of that name/);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM base AS first\nCOPY --chown=nonroot:nonroot app /home/nonroot/app\nFROM img\nCOPY --from=first /home/nonroot/app /p\n');
    const ok = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', 'base=berth:static', '--build-context', `img=${base}`, '--output', out]);
    expect(ok.stderr).toMatch(/built/);
    const { tree, config } = await unpack(out, 'amd64');
    expect(tree).toContain('home/nonroot/ 700 65532:65532');
    expect(tree).toContain('p 644 65532:65532 x');
    expect(config).toMatchObject({ User: '65532:65532', WorkingDir: '/home/nonroot' });
  });
});

describe('images by reference', () => {
  it('pulls FROM and COPY --from images from a registry for each stage\'s platform', async () => {
    const registry = await startRegistry();
    try {
      const base = join(dir, 'multi-static.tar');
      expect((await berthBin(['base', 'static', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', base])).code).toBe(0);
      expect((await berthBin(['push', base, `${registry.host}/base/static:1`])).code).toBe(0);
      const ctx = await files(join(dir, 'registry'), { Dockerfile: `ARG REG\nFROM \${REG}/base/static:1\nCOPY --from=\${REG}/base/static:1 /etc/os-release /copied\n` });
      const out = join(dir, 'registry-out.tar');
      const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-arg', `REG=${registry.host}`, '--platform', 'linux/arm64', '--output', out, '--cache-dir', join(dir, 'cache')], { env: { PATH: process.env.PATH, HOME: dir } });
      expect(r.stderr).toMatch(/built linux\/arm64/);
      const { tree, config } = await unpack(out, 'arm64');
      expect(tree).toContain('etc/passwd 644 0:0 root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin');
      expect(tree).toContainEqual(expect.stringMatching(/^copied 644 0:0 PRETTY_NAME="berth static"/));
      expect(config).toMatchObject({ User: '65532:65532' });
    } finally {
      await registry.stop();
    }
  });
});

describe('ADD archives, build args', () => {
  it('extracts a local tar.gz (owners as archived), and refuses one whose member climbs out', async () => {
    const ctx = await files(join(dir, 'add'), { Dockerfile: 'FROM scratch\nADD pkg.tar.gz /opt/pkg/\n' });
    await writeFile(join(ctx, 'pkg.tar.gz'), await packGzip([{ name: 'bin/', type: 'directory' }, { name: 'bin/tool', content: 'tool' }, { name: 'bin/t', type: 'symlink', linkname: 'tool' }]));
    const out = join(dir, 'add.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', out]);
    expect(r.code).toBe(0);
    expect((await unpack(out, 'amd64')).tree).toEqual(['opt/ 755 0:0', 'opt/pkg/ 755 0:0', 'opt/pkg/bin/ 755 0:0', 'opt/pkg/bin/t -> tool', 'opt/pkg/bin/tool 644 0:0 tool']);
    await writeFile(join(ctx, 'pkg.tar.gz'), await packGzip([{ name: '../escape', content: 'x' }]));
    const bad = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', join(dir, 'add-bad.tar')]);
    expect(bad.stderr).toMatch(/Dockerfile:2: ADD: .*"\.\.\/escape" climbs above the layer root/);
    expect(bad.code).toBe(2);
  });

  it('COPY --from an image reads its layers with whiteouts applied', async () => {
    const lower = join(dir, 'lower.tar');
    const upper = join(dir, 'upper.tar');
    await writeFile(lower, await packTar([{ name: 'a/', type: 'directory' }, { name: 'a/x', content: 'x' }, { name: 'a/y', content: 'y' }, { name: 'd/', type: 'directory' }, { name: 'd/old', content: 'old' }]));
    await writeFile(upper, await packTar([{ name: 'a/.wh.x', content: '' }, { name: 'd/', type: 'directory' }, { name: 'd/.wh..wh..opq', content: '' }, { name: 'd/new', content: 'new' }]));
    const img = join(dir, 'layered.tar');
    expect((await berthBin(['build', '--base', 'scratch', '--layer', lower, '--layer', upper, '--output', img])).code).toBe(0);
    const ctx = await files(join(dir, 'whiteout'), { Dockerfile: 'FROM scratch\nCOPY --from=layered / /copied/\n' });
    const out = join(dir, 'whiteout-out.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', `layered=${img}`, '--output', out]);
    expect(r.code).toBe(0);
    expect((await unpack(out, 'amd64')).tree).toEqual(['copied/ 755 0:0', 'copied/a/ 755 0:0', 'copied/a/y 644 0:0 y', 'copied/d/ 755 0:0', 'copied/d/new 644 0:0 new']);
  });

  it('reads --build-arg-file, lets --build-arg win, and warns of args no stage declares', async () => {
    const ctx = await files(join(dir, 'args'), { Dockerfile: 'FROM scratch\nARG A\nARG B\nLABEL a=$A b=$B\n', envs: '# kyma envs\nA=from-file\nB=from-file\nUNUSED=1\n' });
    const out = join(dir, 'args.tar');
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-arg-file', join(ctx, 'envs'), '--build-arg', 'B=from-flag', '--output', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: build-args were given but not consumed \(no ARG declares them\): UNUSED/);
    expect((await unpack(out, 'amd64')).config.Labels).toEqual({ a: 'from-file', b: 'from-flag' });
  });
});

describe('paths as the user gives them', () => {
  it('reads a relative --dockerfile, --context and --output from the working folder, and names the file as given', async () => {
    const ctx = await files(join(dir, 'relative'), { 'images/app/Dockerfile': 'FROM scratch\nCOPY x /x\n', 'images/app/x': 'x' });
    const ok = await berth(['build', '--dockerfile', 'images/app/Dockerfile', '--output', 'out/app.tar'], { cwd: ctx });
    expect(ok.code).toBe(0);
    expect((await unpack(join(ctx, 'out', 'app.tar'), 'amd64')).tree).toEqual(['x 644 0:0 x']);
    await writeFile(join(ctx, 'images/app/Dockerfile'), 'FROM scratch\nCOPY y /y\n');
    const bad = await berth(['build', '--dockerfile', 'images/app/Dockerfile', '--context', 'images', '--output', 'out/bad.tar'], { cwd: ctx });
    expect(bad.stderr).toMatch(/^berth: images\/app\/Dockerfile:2: COPY: "y" not found in the build context\n$/);
    expect(bad.code).toBe(2);
  });
});

describe('bad input: exit 2, Dockerfile:LINE, nothing written', () => {
  let ctx: string;
  beforeAll(async () => {
    ctx = await files(join(dir, 'bad'), { 'in.txt': 'x', 'sub/a': 'a' });
    await writeFile(join(dir, 'outside.txt'), 'secret');
    await symlink('../../outside.txt', join(ctx, 'sub', 'out-link'));
  });
  it.each([
    ['FROM scratch\nFROB x\n', [], /Dockerfile:2: FROB: unknown instruction/],
    ['FROM scratch\nCOPY --chwn=1 in.txt /x\n', [], /Dockerfile:2: COPY: unknown flag: --chwn/],
    ['FROM scratch\nCOPY ../outside.txt /x\n', [], /Dockerfile:2: COPY: source "..\/outside.txt" is outside the build context/],
    ['FROM scratch\nCOPY /etc/passwd /x\n', [], /Dockerfile:2: COPY: source "\/etc\/passwd" is an absolute path/],
    ['FROM scratch\nCOPY sub/out-link /x\n', [], /Dockerfile:2: COPY: source "sub\/out-link" goes through symlink sub\/out-link/],
    ['FROM scratch\nCOPY missing.txt /x\n', [], /Dockerfile:2: COPY: "missing.txt" not found in the build context/],
    ['FROM scratch AS a\n', ['--target', 'b'], /--target b: .*has no stage of that name/],
    ['FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n', [], /Dockerfile:\d: circular dependency detected/],
    ['FROM base\n', ['--build-context', 'base=git://example/x'], /--build-context base: unknown source scheme "git:\/\/"/],
    ['FROM scratch\nADD http://127.0.0.1:1/x /x\n', [], /Dockerfile:2: ADD: "http:\/\/127.0.0.1:1\/x": ADD of a URL needs --checksum/],
    ['FROM scratch\nRUN true\n', ['--engine', 'native'], /--engine native: .*Dockerfile:2 has RUN/],
  ] as [string, string[], RegExp][])('%j %j', async (text, flags, message) => {
    const name = createHash('sha256').update(text + flags.join()).digest('hex').slice(0, 8);
    await writeFile(join(ctx, `${name}.Dockerfile`), text);
    const out = join(dir, 'bad-out', `${name}.tar`);
    const r = await berthBin(['build', '--dockerfile', join(ctx, `${name}.Dockerfile`), '--context', ctx, ...flags, '--output', out]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await expect(stat(out)).rejects.toThrow();
    expect((await readdir(join(dir, 'bad-out')).catch(() => [])).filter((f) => f.startsWith('.berth-work'))).toEqual([]);
  });
});

describe('beside buildah', () => {
  it('gives the same file tree and config as buildah bud for a RUN-less Dockerfile', async () => {
    const ctx = await files(join(dir, 'cmp'), {
      Dockerfile: 'FROM scratch AS b\nCOPY bin/ /out/\nFROM scratch\nCOPY --from=b /out/tool /usr/local/bin/tool\nCOPY etc /etc/app/\nENV A=1 B="two words"\nWORKDIR /srv\nUSER 1000:1000\nLABEL a=b\nEXPOSE 80/udp\nVOLUME ["/var/data"]\nSTOPSIGNAL SIGTERM\nENTRYPOINT ["/usr/local/bin/tool"]\nCMD ["--flag"]\n',
      'bin/tool:755': 'tool', 'etc/c.conf': 'c',
    });
    const ours = join(dir, 'cmp-berth.tar');
    expect((await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--output', ours])).code).toBe(0);
    const store = join(dir, 'buildah');
    const g = ['--storage-driver', 'vfs', '--root', join(store, 'root'), '--runroot', join(store, 'run')];
    await run('buildah', [...g, 'bud', '--isolation', 'chroot', '--platform', 'linux/amd64', '-t', 'localhost/cmp:1', '-f', join(ctx, 'Dockerfile'), ctx]);
    const theirs = join(dir, 'cmp-buildah.tar');
    await run('buildah', [...g, 'push', 'localhost/cmp:1', `oci-archive:${theirs}`]);
    const a = await unpack(ours, 'amd64');
    const b = await unpack(theirs, 'amd64');
    expect(a.tree).toEqual(b.tree);
    const fields = ['Env', 'Entrypoint', 'Cmd', 'User', 'WorkingDir', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal'];
    const pick = (c: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, c[f]]));
    const theirConfig = pick(b.config);
    theirConfig.Labels = Object.fromEntries(Object.entries(theirConfig.Labels as Record<string, string>).filter(([k]) => !k.startsWith('io.buildah')));
    expect(pick(a.config)).toEqual(theirConfig);
  }, 120_000);
});

describe('RUN through an engine', () => {
  const KYMA = 'FROM --platform=$BUILDPLATFORM busybox AS builder\nARG TARGETARCH\nRUN mkdir -p /out && echo "built for $TARGETARCH" > /out/app\nFROM scratch\nCOPY --from=builder /out/app /app\n';
  let base: string;
  let ctx: string;
  const layersOf = async (tarball: string) => (JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${tarball}`])) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
  beforeAll(async () => {
    base = await makeBusyboxBase(join(dir, 'busybox'));
    ctx = await files(join(dir, 'kyma'), { Dockerfile: KYMA });
  });
  const build = async (out: string, engine: string, env: NodeJS.ProcessEnv) => {
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--engine', engine, '--build-context', `busybox=${base}`, '--platform', 'linux/arm64', '--output', out, '--json'], { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000', HOME: dir, ...env } });
    expect(r.stderr).toMatch(/built/);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { digest: string; engine: string };
  };
  // Whichever test asks first builds it: each test compares against its own reference, in any order or alone.
  let buildahRef: Promise<{ digest: string; layers: string[] }> | undefined;
  const buildahReference = () => (buildahRef ??= (async () => {
    const out = join(dir, 'kyma-ref.tar');
    const result = await build(out, 'buildah', {});
    return { digest: result.digest, layers: await layersOf(out) };
  })());

  it('builds the cross-compile pattern with buildah (--engine auto): builder on the build platform runs a shell, final FROM scratch; twice the same digest', async () => {
    const digests: string[] = [];
    for (const n of [1, 2]) {
      const out = join(dir, `kyma-${n}.tar`);
      const result = await build(out, 'auto', {});
      expect(result.engine).toBe('buildah');
      digests.push(result.digest);
      if (n === 1) expect((await unpack(out, 'arm64')).tree).toContain('app 644 0:0 built for arm64');
    }
    expect(digests[0]).toBe(digests[1]);
    expect(digests[0]).toBe((await buildahReference()).digest);
  }, 300_000);

  // Normalized, the engines' own history text (`COPY file:<hash> in /app`, hashed differently by
  // buildah and Docker) is one text per instruction, so the image digests agree too; the native
  // engine writes the same text, so a RUN-less Dockerfile has one digest natively and through Docker.
  it('gives the same layers and digest through Docker (--engine docker) as through buildah, and natively as through Docker', async () => {
    const dockerd = await startDockerd(dir);
    try {
      const ref = await buildahReference();
      const result = await build(join(dir, 'kyma-docker.tar'), 'docker', dockerd.env);
      expect(result.engine).toBe('docker');
      expect(await layersOf(join(dir, 'kyma-docker.tar'))).toEqual(ref.layers);
      expect(result.digest).toBe(ref.digest);
      expect((await unpack(join(dir, 'kyma-docker.tar'), 'arm64')).tree).toContain('app 644 0:0 built for arm64');
      const plain = await files(join(dir, 'runless'), { Dockerfile: 'FROM scratch\nCOPY a.txt /srv/\nENV A=1\nWORKDIR /srv\nCOPY a.txt b.txt\nLABEL x=y\n', 'a.txt': 'a' });
      const runless = async (engine: string, env: NodeJS.ProcessEnv, dockerfile = join(plain, 'Dockerfile'), extra: string[] = []) => {
        const r = await berthBin(['build', '--dockerfile', dockerfile, '--engine', engine, ...extra, '--output', join(dir, `runless-${engine}.tar`), '--json'], { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000', HOME: dir, ...env } });
        expect(r.stderr).toMatch(/built/);
        return JSON.parse(r.stdout) as { digest: string; engine: string };
      };
      const native = await runless('native', {});
      const docker = await runless('docker', dockerd.env);
      expect(docker.engine).toBe('docker');
      expect(docker.digest).toBe(native.digest);
      // FROM a base with history of its own, made at another time than this build's epoch: its
      // entries stay as the base has them on both paths, so the digests still agree.
      await writeFile(join(plain, 'Dockerfile.base'), 'FROM busybox\nCOPY a.txt /srv/\nENV A=1\n');
      const onBase = ['--build-context', `busybox=${base}`];
      const nativeOnBase = await runless('native', {}, join(plain, 'Dockerfile.base'), onBase);
      const dockerOnBase = await runless('docker', dockerd.env, join(plain, 'Dockerfile.base'), onBase);
      expect(dockerOnBase.digest).toBe(nativeOnBase.digest);
      const history = JSON.parse(await run('skopeo', ['inspect', '--config', `oci-archive:${join(dir, 'runless-docker.tar')}`])).history as { created: string }[];
      expect(history[0]!.created).toBe('2020-09-13T12:26:40Z');
      expect(history.at(-1)!.created).toBe('2023-11-14T22:13:20Z');
    } finally {
      await dockerd.stop();
    }
  }, 300_000);
});

describe('an output inside the context, with RUN', () => {
  // No .dockerignore, so the step path would bind-mount the context folder itself, where the
  // work folder sits. Each build gets a fresh copy of the context (an earlier output would be
  // an ordinary file in it).
  const DOCKERFILE = 'FROM busybox\nCOPY . /c/\nRUN --mount=type=bind,target=/ctx ls -a /ctx > /mounted\n';
  let base: string;
  beforeAll(async () => {
    base = await makeBusyboxBase(join(dir, 'busybox-in-context'));
  });
  const buildIn = async (name: string, engine: string, env: NodeJS.ProcessEnv) => {
    const ctx = await files(join(dir, name), { Dockerfile: DOCKERFILE, 'a.txt': 'a' });
    const r = await berthBin(['build', '--dockerfile', 'Dockerfile', '--engine', engine, '--build-context', `busybox=${base}`, '--output', 'img.tar', '--json'], { cwd: ctx, env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000', HOME: dir, ...env } });
    expect(r.stderr).toMatch(/built/);
    expect(r.code).toBe(0);
    const { tree } = await unpack(join(ctx, 'img.tar'), 'amd64');
    return { digest: (JSON.parse(r.stdout) as { digest: string }).digest, tree: tree.filter((l) => !l.startsWith('usr/') && !l.startsWith('bin/')) };
  };

  it('keeps the work folder out of COPY and RUN --mount, step by step (one digest) and through Docker with BuildKit', async () => {
    const want = ['c/ 755 0:0', `c/Dockerfile 644 0:0 ${DOCKERFILE.trim()}`, 'c/a.txt 644 0:0 a', 'mounted 644 0:0 .\n..\nDockerfile\na.txt', 'tmp/ 755 0:0'];
    const first = await buildIn('in-context-1', 'auto', {});
    expect(first.tree).toEqual(want);
    expect((await buildIn('in-context-2', 'auto', {})).digest).toBe(first.digest);
    const dockerd = await startDockerd(dir);
    try {
      // Debian's docker.io client: the machine's newer one wants buildx for BuildKit.
      const docker = await buildIn('in-context-docker', 'docker', { ...dockerd.env, DOCKER_BUILDKIT: '1', PATH: `/usr/bin:${process.env.PATH}` });
      // Docker 20.10's BuildKit (0.8) leaves the mount's empty target folder; later BuildKit and berth do not (docs/dockerfile.md).
      expect(docker.tree.filter((l) => l !== 'ctx/ 755 0:0')).toEqual(want);
    } finally {
      await dockerd.stop();
    }
  }, 300_000);
});

describe('foreign programs copied into the image', () => {
  it('warns once of an ELF file for another platform copied into the target stage; none for its own platform', async () => {
    const ctx = join(dir, 'elf-ctx');
    await mkdir(ctx, { recursive: true });
    // /bin/busybox is an x86-64 program on this machine's Debian (busybox-static).
    await writeFile(join(ctx, 'app'), await readFile('/bin/busybox'));
    await writeFile(join(ctx, 'Dockerfile'), 'FROM --platform=$BUILDPLATFORM scratch AS builder\nCOPY app /out/app\nFROM scratch\nCOPY --from=builder /out/app /app\n');
    const arm = await berth(['build', '--dockerfile', join(ctx, 'Dockerfile'), '-p', 'linux/arm64', '-o', join(dir, 'elf-arm64.tar')], { cwd: ctx });
    expect(arm.code).toBe(0);
    const warnings = arm.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Dockerfile:4: COPY: /app is ELF 64-bit LSB x86-64 (linux/amd64), not a program for linux/arm64');
    const amd = await berth(['build', '--dockerfile', join(ctx, 'Dockerfile'), '-p', 'linux/amd64', '-o', join(dir, 'elf-amd64.tar')], { cwd: ctx });
    expect(amd.code).toBe(0);
    expect(amd.stderr).not.toContain('warning');
  });
});
