import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../../helpers/cli.js';
import { makeBusyboxBase } from '../../helpers/busybox-base.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { run, tempDir } from '../../helpers/tools.js';

/**
 * RUN steps built one by one (src/builder/steps/): one layer per step, the step cache in the
 * cache folder and in a registry, RUN --mount; with real buildah, the real registry, and the
 * image checked against `buildah bud`'s and a cold build's.
 */

let dir: string;
let cleanup: () => Promise<void>;
let base: string;
let mergedBase: string;
let registry: TestRegistry;
const EPOCH = '1700000000';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-steps-'));
  base = await makeBusyboxBase(join(dir, 'base'));
  mergedBase = await makeBusyboxBase(join(dir, 'merged'), { mergedUsr: true, name: 'merged' });
  registry = await startRegistry();
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await cleanup();
});

async function files(root: string, tree: Record<string, string>): Promise<string> {
  for (const [key, content] of Object.entries(tree)) {
    const [path, mode] = key.split(':') as [string, string | undefined];
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
    await chmod(join(root, path), mode ? parseInt(mode, 8) : 0o644);
  }
  return root;
}

/** `berth build --dockerfile` with a cache folder of its own (`cache`), the busybox base as `base`. */
async function build(ctx: string, out: string, cache: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { digest: string }> {
  const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', `base=${extra.includes('--merged') ? mergedBase : base}`, '--output', out, '--json', ...extra.filter((e) => e !== '--merged')], {
    env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: EPOCH, HOME: dir, XDG_CACHE_HOME: cache, ...env },
  });
  if (r.code !== 0) throw new Error(`berth build failed (${r.code}): ${r.stderr}`);
  return { ...r, digest: (JSON.parse(r.stdout) as { digest: string }).digest };
}

const manifestOf = async (tarball: string) => JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${tarball}`])) as { layers: { digest: string }[] };
const configOf = async (tarball: string) => JSON.parse(await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${tarball}`])) as { history: { created_by?: string; empty_layer?: boolean }[] };

/** The file tree of an image (umoci unpack): "path mode uid:gid [content or target]" per entry. */
async function treeOf(tarball: string, arch = 'amd64'): Promise<string[]> {
  const work = join(dir, `unpack-${Math.random().toString(36).slice(2)}`);
  await mkdir(work, { recursive: true });
  await run('skopeo', ['copy', '-q', '--override-arch', arch, `oci-archive:${tarball}`, `oci:${work}/layout:x`]);
  await run('umoci', ['unpack', '--image', `${work}/layout:x`, `${work}/bundle`]);
  const root = join(work, 'bundle', 'rootfs');
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const line = (await run('stat', ['-c', '%F %a %u:%g', join(root, path)])).trim();
      if (line.startsWith('directory')) {
        out.push(`${path} ${line}`);
        await walk(path);
      } else if (line.startsWith('symbolic link')) out.push(`${path} ${line} -> ${(await run('readlink', [join(root, path)])).trim()}`);
      else {
        const content = await readFile(join(root, path));
        out.push(`${path} ${line} ${content.length > 200 ? `<${content.length} bytes>` : JSON.stringify(content.toString('latin1'))}`);
      }
    }
  };
  await walk('');
  return out;
}

/** How many times the RUNs that append to the `runs` cache mount have run, over this cache folder. */
async function runCount(cache: string): Promise<number> {
  const root = join(cache, 'berth', 'run-cache');
  let n = 0;
  for (const d of await readdir(root).catch(() => [] as string[])) {
    const text = await readFile(join(root, d, 'runs'), 'utf8').catch(() => '');
    n += text.split('\n').filter(Boolean).length;
  }
  return n;
}

describe('the step cache', () => {
  const SLOW = `FROM base
RUN --mount=type=cache,target=/count,id=runs echo x >> /count/runs && echo ran-slow-step && sleep 3 && mkdir -p /opt && echo built > /opt/built
COPY app.txt /opt/app.txt
`;

  it('a changed last COPY re-runs no RUN and gives the digest a cold build gives; one layer per step', async () => {
    const ctx = await files(join(dir, 'slow'), { Dockerfile: SLOW, 'app.txt': 'v1\n' });
    const cache = join(dir, 'slow-cache');
    const first = await build(ctx, join(dir, 'slow-1.tar'), cache);
    expect(first.stderr).toContain('ran-slow-step');
    expect(await runCount(cache)).toBe(1);
    // base + RUN + COPY: a layer per step, as Docker makes them.
    expect((await manifestOf(join(dir, 'slow-1.tar'))).layers).toHaveLength(3);
    expect((await configOf(join(dir, 'slow-1.tar'))).history.map((h) => h.created_by).slice(1)).toEqual(['/bin/sh -c echo x >> /count/runs && echo ran-slow-step && sleep 3 && mkdir -p /opt && echo built > /opt/built', 'COPY /opt/app.txt']);

    await writeFile(join(ctx, 'app.txt'), 'v2\n');
    const second = await build(ctx, join(dir, 'slow-2.tar'), cache);
    expect(second.stderr).not.toContain('ran-slow-step');
    expect(second.stderr).toContain('Dockerfile:2: RUN reused from the step cache');
    expect(await runCount(cache)).toBe(1);
    expect(second.digest).not.toBe(first.digest);
    // The RUN's layer is the same blob; the COPY's is new.
    const [m1, m2] = [await manifestOf(join(dir, 'slow-1.tar')), await manifestOf(join(dir, 'slow-2.tar'))];
    expect(m2.layers[1]).toEqual(m1.layers[1]);
    expect(m2.layers[2]).not.toEqual(m1.layers[2]);

    const coldCache = join(dir, 'slow-cold');
    const cold = await build(ctx, join(dir, 'slow-cold.tar'), coldCache);
    expect(cold.stderr).toContain('ran-slow-step');
    expect(cold.digest).toBe(second.digest);
    expect(await treeOf(join(dir, 'slow-2.tar'))).toContain('opt/app.txt regular file 644 0:0 "v2\\n"');
  }, 300_000);

  it('a RUN after the changed COPY runs again; the ones before it do not', async () => {
    const ctx = await files(join(dir, 'mid'), {
      Dockerfile: 'FROM base\nRUN --mount=type=cache,target=/count,id=runs echo x >> /count/runs && echo first > /first\nCOPY f /f\nRUN echo second-ran && cat /f /first > /both\n',
      f: 'one\n',
    });
    const cache = join(dir, 'mid-cache');
    await build(ctx, join(dir, 'mid-1.tar'), cache);
    await writeFile(join(ctx, 'f'), 'two\n');
    const again = await build(ctx, join(dir, 'mid-2.tar'), cache);
    expect(await runCount(cache)).toBe(1);
    expect(again.stderr).toContain('second-ran');
    expect(await treeOf(join(dir, 'mid-2.tar'))).toContain('both regular file 644 0:0 "two\\nfirst\\n"');
  }, 300_000);

  it('two berth processes sharing one cache folder build the same Dockerfile at once: both succeed, same digest, the RUN runs once', async () => {
    const ctx = await files(join(dir, 'twice'), { Dockerfile: 'FROM base\nRUN --mount=type=cache,target=/count,id=runs echo x >> /count/runs && sleep 2 && echo twice > /t\nCOPY f /f\n', f: 'f\n' });
    const cache = join(dir, 'twice-cache');
    const [a, b] = await Promise.all([build(ctx, join(dir, 'twice-a.tar'), cache), build(ctx, join(dir, 'twice-b.tar'), cache)]);
    expect(a.digest).toBe(b.digest);
    expect(await runCount(cache)).toBe(1);
    expect([a.stderr, b.stderr].filter((e) => e.includes('RUN reused from the step cache'))).toHaveLength(1);
  }, 300_000);

  it('`berth cache prune` bounds the cache: least recently used first, then the RUN runs again', async () => {
    const ctx = await files(join(dir, 'prune'), { Dockerfile: 'FROM base\nRUN head -c 200000 /dev/urandom > /big && echo prune-ran\n' });
    const cache = join(dir, 'prune-cache');
    const env = { PATH: process.env.PATH, XDG_CACHE_HOME: cache, HOME: dir };
    await build(ctx, join(dir, 'prune-1.tar'), cache);
    expect((await build(ctx, join(dir, 'prune-2.tar'), cache)).stderr).not.toContain('prune-ran');
    const bad = await berthBin(['cache', 'prune', '--max-size', 'lots'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-size: "lots" is not a size');
    const kept = await berthBin(['cache', 'prune', '--max-size', '10MB', '--json'], { env });
    expect(kept.code).toBe(0);
    expect((JSON.parse(kept.stdout) as { removed: number }).removed).toBe(0);
    const pruned = await berthBin(['cache', 'prune', '--max-size', '100KB', '--json'], { env });
    expect(pruned.code).toBe(0);
    const r = JSON.parse(pruned.stdout) as { removed: number; size: number };
    expect(r.removed).toBeGreaterThan(0);
    expect(r.size).toBeLessThanOrEqual(100 * 1024);
    expect(await readdir(join(cache, 'berth', 'steps', 'blobs'))).toEqual([]);
    expect((await build(ctx, join(dir, 'prune-3.tar'), cache)).stderr).toContain('prune-ran');
  }, 300_000);
});

describe('beside buildah bud', () => {
  const bud = async (ctx: string, baseTar: string, out: string) => {
    const store = join(dir, `bud-store-${Math.random().toString(36).slice(2)}`);
    const g = ['--storage-driver', 'vfs', '--root', join(store, 'root'), '--runroot', join(store, 'run')];
    const id = (await run('buildah', [...g, 'pull', '-q', `oci-archive:${baseTar}`])).trim().split('\n').at(-1)!;
    await run('buildah', [...g, 'tag', id, 'localhost/base:1']);
    await run('buildah', [...g, 'bud', '--isolation', 'chroot', '--pull=never', '--build-context', 'base=docker-image://localhost/base:1', '-t', 'localhost/out:1', '-f', join(ctx, 'Dockerfile'), ctx]);
    await run('buildah', [...g, 'push', 'localhost/out:1', `oci-archive:${out}`]);
  };
  // The mount points buildah leaves (empty /etc/hosts, /etc/resolv.conf, ...), which berth drops as BuildKit does.
  const STUBS = /^(etc\/(hosts|hostname|resolv\.conf)|dev|proc|sys|run) /;
  const DOCKERFILE = `FROM base
RUN mkdir -p /opt/app /usr/local/bin && echo hi > /opt/app/x && ln -s /opt/app/x /usr/local/bin/x && chmod 700 /opt/app && ln /opt/app/x /opt/app/hard
COPY f /usr/bin/f
RUN rm -r /tmp && touch /bin/made-by-run && chown 12:34 /bin/made-by-run && mkdir -p /etc && echo app:x:1000:1000::/home/app:/bin/sh >> /etc/passwd
WORKDIR /work
RUN echo w > w.txt && ls /bin > /work/bin-list
`;
  for (const merged of [false, true]) {
    it(`gives the file tree buildah bud gives (${merged ? 'merged /usr: /bin, /sbin, /lib symlinks into usr/' : 'busybox base'})`, async () => {
      const ctx = await files(join(dir, `bud-${merged}`), { Dockerfile: DOCKERFILE, f: 'copied\n' });
      const ours = join(dir, `bud-ours-${merged}.tar`);
      const theirs = join(dir, `bud-theirs-${merged}.tar`);
      await build(ctx, ours, join(dir, `bud-cache-${merged}`), merged ? ['--merged'] : []);
      await bud(ctx, merged ? mergedBase : base, theirs);
      const mine = await treeOf(ours);
      expect(mine).toEqual((await treeOf(theirs)).filter((l) => !STUBS.test(l)));
      if (merged) expect(mine.filter((l) => l.startsWith('usr/bin/made-by-run '))).toEqual(['usr/bin/made-by-run regular empty file 644 12:34 ""']);
      // One layer per step that changed files: base, RUN, COPY, RUN, WORKDIR, RUN.
      expect((await manifestOf(ours)).layers).toHaveLength(6);
    }, 300_000);
  }
});

describe('the registry cache (--cache-to, --cache-from)', () => {
  it('a runner with an empty cache folder reuses the steps another pushed: no RUN runs, same digest', async () => {
    const ctx = await files(join(dir, 'remote'), { Dockerfile: 'FROM base\nRUN echo remote-ran && sleep 1 && echo r > /r\nRUN true\nCOPY f /f\n', f: 'f\n' });
    const ref = `${registry.host}/cache/steps`;
    const first = await build(ctx, join(dir, 'remote-1.tar'), join(dir, 'remote-cache-1'), ['--cache-to', ref]);
    expect(first.stderr).toContain('remote-ran');
    const tags = JSON.parse(await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${ref}`])) as { Tags: string[] };
    expect(tags.Tags.filter((t) => t.startsWith('step-'))).toHaveLength(2);
    const second = await build(ctx, join(dir, 'remote-2.tar'), join(dir, 'remote-cache-2'), ['--cache-from', `type=registry,ref=${ref}`]);
    expect(second.stderr).not.toContain('remote-ran');
    expect(second.digest).toBe(first.digest);
    // Then from the local cache it filled, without the registry.
    const third = await build(ctx, join(dir, 'remote-3.tar'), join(dir, 'remote-cache-2'));
    expect(third.stderr).not.toContain('remote-ran');
    expect(third.digest).toBe(first.digest);
  }, 300_000);

  it('a RUN cache mount travels too: a runner with an empty disk starts from what the other left in it', async () => {
    const ctx = await files(join(dir, 'mount-carry'), { Dockerfile: 'FROM base\nARG V\nRUN --mount=type=cache,target=/c,id=gomod echo $V >> /c/log && cat /c/log > /seen\n' });
    const ref = `${registry.host}/cache/mounts`;
    await build(ctx, join(dir, 'carry-1.tar'), join(dir, 'carry-cache-1'), ['--build-arg', 'V=one', '--cache-to', ref]);
    await build(ctx, join(dir, 'carry-2.tar'), join(dir, 'carry-cache-2'), ['--build-arg', 'V=two', '--cache-from', ref]);
    expect(await treeOf(join(dir, 'carry-2.tar'))).toContain('seen regular file 644 0:0 "one\\ntwo\\n"');
  }, 300_000);

  it('--cache-to type=local is refused with exit 2', async () => {
    const ctx = await files(join(dir, 'remote-bad'), { Dockerfile: 'FROM base\nRUN true\n' });
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', `base=${base}`, '--output', join(dir, 'x.tar'), '--cache-to', 'type=local,dest=/tmp/x'], { env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'bad-cache') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--cache-to type=local,dest=/tmp/x: type=local');
  });
});

describe('berth images with RUN', () => {
  it("a component FROM base-image carries base-image's layers, the same blobs in the registry; RUN steps are one layer each", async () => {
    const tree = join(dir, 'ms');
    await files(tree, {
      'images/base-image/Dockerfile': `FROM ${registry.host}/lib/busybox:1\nRUN mkdir -p /etc/base && echo base > /etc/base/release\nRUN echo tools > /usr-tools\n`,
      'images/cli/Dockerfile': 'FROM base-image\nCOPY cli /usr/bin/cli\nRUN echo configured > /etc/cli.conf\n',
      'images/cli/cli': 'cli\n',
    });
    const push = await berthBin(['push', base, `${registry.host}/lib/busybox:1`], { env: { PATH: process.env.PATH, HOME: dir } });
    expect(push.code).toBe(0);
    const env = { PATH: process.env.PATH, HOME: dir, SOURCE_DATE_EPOCH: EPOCH, XDG_CACHE_HOME: join(dir, 'ms-cache') };
    const r = await berthBin(['images', 'push', '--all', '--registry', `${registry.host}/ms`, '--platform', 'linux/amd64', '--no-sign'], { cwd: tree, env });
    expect(r.stderr).toContain('pushed');
    expect(r.code).toBe(0);
    const layersOf = async (name: string) => {
      const tags = JSON.parse(await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${registry.host}/ms/${name}`])) as { Tags: string[] };
      const m = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--override-arch', 'amd64', `docker://${registry.host}/ms/${name}:${tags.Tags[0]}`])) as { manifests?: { digest: string }[]; layers?: { digest: string }[] };
      const one = m.manifests ? (JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/ms/${name}@${m.manifests[0]!.digest}`])) as { layers: { digest: string }[] }) : (m as { layers: { digest: string }[] });
      return one.layers.map((l) => l.digest);
    };
    const baseLayers = await layersOf('base-image');
    const cliLayers = await layersOf('cli');
    expect(baseLayers).toHaveLength(3); // busybox, RUN, RUN
    expect(cliLayers).toHaveLength(5); // base-image's three, COPY, RUN
    expect(cliLayers.slice(0, 3)).toEqual(baseLayers);
  }, 300_000);
});

describe('RUN --mount', () => {
  const SECRET = 's3cr3t-VALUE-9f8e7d';
  it('type=secret: the RUN reads it; it is in no layer, history, log line, output or cache record, and not in the key', async () => {
    const ctx = await files(join(dir, 'secret'), {
      Dockerfile: `FROM base
RUN --mount=type=secret,id=token --mount=type=secret,id=envtok,target=/etc/tok test "$(cat /run/secrets/token)" = "$(cat /etc/tok)" && wc -c < /run/secrets/token > /len && echo secret-step-ran
RUN --mount=type=secret,id=absent ls /run/secrets > /listing 2>&1 || echo none > /listing
`,
    });
    await writeFile(join(dir, 'token.txt'), SECRET);
    const cache = join(dir, 'secret-cache');
    const out = join(dir, 'secret.tar');
    const ref = `${registry.host}/cache/secret`;
    const r = await build(ctx, out, cache, ['--secret', `id=token,src=${join(dir, 'token.txt')}`, '--secret', 'id=envtok,env=MY_TOKEN', '--cache-to', ref], { MY_TOKEN: SECRET });
    expect(r.stderr).toContain('secret-step-ran');
    const tree = await treeOf(out);
    expect(tree).toContain(`len regular file 644 0:0 "${SECRET.length}\\n"`);
    expect(tree.filter((l) => /^(run|etc)\b/.test(l))).toEqual([]);
    expect(tree.join('\n')).not.toContain(SECRET);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(JSON.stringify(await configOf(out))).not.toContain(SECRET);
    // Every byte berth wrote: the tarball's members, the cache folder and the registry's blobs, each gunzipped where gzip.
    const count = async (paths: string[]) =>
      Number((await run('sh', ['-c', `n=0; for f in $(find ${paths.join(' ')} -type f); do if zcat -f "$f" 2>/dev/null | tar -xOf - 2>/dev/null | grep -q -- "$1"; then n=$((n+1)); elif zcat -f "$f" 2>/dev/null | grep -q -- "$1"; then n=$((n+1)); fi; done; echo $n`, 'sh', SECRET])).trim());
    const unpacked = join(dir, 'secret-unpacked');
    await mkdir(unpacked, { recursive: true });
    await run('tar', ['-xf', out, '-C', unpacked]);
    expect(await count([unpacked, join(cache, 'berth'), registry.storage])).toBe(0);
    // The check can fail: the same search finds a file holding the value.
    await mkdir(join(dir, 'canary'), { recursive: true });
    await writeFile(join(dir, 'canary', 'x'), SECRET);
    await run('sh', ['-c', `printf %s "${SECRET}" | gzip > ${join(dir, 'canary', 'y.gz')}`]);
    expect(await count([join(dir, 'canary')])).toBe(2);
    // Another value of the secret: the key is the same, the step reused (BuildKit's rule).
    await writeFile(join(dir, 'token2.txt'), 'another-value');
    const again = await build(ctx, join(dir, 'secret-2.tar'), cache, ['--secret', `id=token,src=${join(dir, 'token2.txt')}`, '--secret', 'id=envtok,env=MY_TOKEN'], { MY_TOKEN: 'another-value' });
    expect(again.stderr).not.toContain('secret-step-ran');
    expect(again.stderr).toContain('Dockerfile:2: RUN reused from the step cache');
  }, 300_000);

  it('a required secret that was not given: exit 2 naming it', async () => {
    const ctx = await files(join(dir, 'secret-req'), { Dockerfile: 'FROM base\nRUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n' });
    const r = await berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', `base=${base}`, '--output', join(dir, 'req.tar')], { env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'req-cache') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Dockerfile:2: RUN needs secret "npmrc"; give it with --secret id=npmrc/);
  });

  it('type=tmpfs and type=bind rw: what the RUN writes there reaches no layer; the context is untouched', async () => {
    const ctx = await files(join(dir, 'tmpfs'), { Dockerfile: 'FROM base\nRUN --mount=type=tmpfs,target=/scratch --mount=target=/src,rw echo t > /scratch/t && echo changed > /src/in-context && cat /src/in-context > /seen\n', 'in-context': 'orig\n' });
    const out = join(dir, 'tmpfs.tar');
    await build(ctx, out, join(dir, 'tmpfs-cache'));
    const tree = await treeOf(out);
    expect(tree).toContain('seen regular file 644 0:0 "changed\\n"');
    expect(tree.filter((l) => /^(scratch|src)\b/.test(l))).toEqual([]);
    expect(await readFile(join(ctx, 'in-context'), 'utf8')).toBe('orig\n');
  }, 300_000);

  it('type=bind from= a stage, source= a folder of it: read, not copied into the layer; a change in that stage re-runs the RUN', async () => {
    const ctx = await files(join(dir, 'bindfrom'), { Dockerfile: 'FROM base AS gen\nCOPY g /out/g\nFROM base\nRUN --mount=from=gen,source=/out,target=/in cat /in/g > /got && echo bind-from-ran\n', g: 'generated\n' });
    const cache = join(dir, 'bindfrom-cache');
    const first = await build(ctx, join(dir, 'bindfrom-1.tar'), cache);
    expect(await treeOf(join(dir, 'bindfrom-1.tar'))).toEqual(expect.arrayContaining(['got regular file 644 0:0 "generated\\n"']));
    expect((await treeOf(join(dir, 'bindfrom-1.tar'))).filter((l) => l.startsWith('in'))).toEqual([]);
    expect(first.stderr).toContain('bind-from-ran');
    expect((await build(ctx, join(dir, 'bindfrom-2.tar'), cache)).stderr).not.toContain('bind-from-ran');
    await writeFile(join(ctx, 'g'), 'regenerated\n');
    const third = await build(ctx, join(dir, 'bindfrom-3.tar'), cache);
    expect(third.stderr).toContain('bind-from-ran');
    expect(await treeOf(join(dir, 'bindfrom-3.tar'))).toEqual(expect.arrayContaining(['got regular file 644 0:0 "regenerated\\n"']));
  }, 300_000);

  it("kyma's example: FROM --platform=$BUILDPLATFORM builder, go mod download, RUN --mount=target=. go build, FROM scratch; two platforms; a changed source re-runs only the build", async () => {
    // A stand-in for go: `mod download` fills the module cache, `build -o OUT .` writes what it was asked to build.
    const goScript = `#!/bin/sh
case "$1" in
  mod) mkdir -p /root/go/pkg/mod && cat go.mod > /root/go/pkg/mod/downloaded && echo go-mod-download-ran ;;
  build) out=; while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
         echo "binary for $GOOS/$GOARCH from $(cat main.go)" > "$out"; echo go-build-ran ;;
esac
`;
    const goBase = join(dir, 'golang.tar');
    await writeFile(join(dir, 'go'), goScript, { mode: 0o755 });
    const b = await berthBin(['build', '--base', base, '--file', `${join(dir, 'go')}:/usr/local/bin/go:755`, '--output', goBase], { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: EPOCH } });
    expect(b.code).toBe(0);
    const ctx = await files(join(dir, 'kyma'), {
      Dockerfile: `FROM --platform=$BUILDPLATFORM golang AS builder

WORKDIR /app

COPY go.mod go.sum ./
RUN go mod download -x

ARG TARGETOS TARGETARCH
RUN --mount=target=. cd /app/cmd/image-builder && CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -buildvcs=false -o /image-builder -a -ldflags '-extldflags "-static"' .

FROM scratch

COPY --from=builder /image-builder /image-builder

ENTRYPOINT ["/image-builder"]
`,
      'go.mod': 'module example.com/image-builder\n',
      'go.sum': '',
      'cmd/image-builder/main.go': 'package main // v1\n',
    });
    const cache = join(dir, 'kyma-cache');
    const kyma = (out: string) =>
      berthBin(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--build-context', `golang=${goBase}`, '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', out, '--json'], { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: EPOCH, HOME: dir, XDG_CACHE_HOME: cache } });
    const first = await kyma(join(dir, 'kyma-1.tar'));
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    for (const arch of ['amd64', 'arm64']) {
      expect(await treeOf(join(dir, 'kyma-1.tar'), arch)).toEqual([`image-builder regular file 644 0:0 "binary for linux/${arch} from package main // v1\\n"`]);
    }
    // go mod download ran once (the builder is on the build platform for both targets); go build once per target.
    expect(first.stderr.split('\n').filter((l) => l.includes('go-mod-download-ran'))).toHaveLength(1);
    expect(first.stderr.split('\n').filter((l) => l.includes('go-build-ran'))).toHaveLength(2);

    await writeFile(join(ctx, 'cmd/image-builder/main.go'), 'package main // v2\n');
    const second = await kyma(join(dir, 'kyma-2.tar'));
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('go-mod-download-ran');
    expect(second.stderr.split('\n').filter((l) => l.includes('go-build-ran'))).toHaveLength(2);
    expect(await treeOf(join(dir, 'kyma-2.tar'), 'arm64')).toEqual(['image-builder regular file 644 0:0 "binary for linux/arm64 from package main // v2\\n"']);
  }, 300_000);
});
