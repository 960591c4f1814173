/**
 * Differential conformance: each case (a Dockerfile and its context, test/e2e/conformance/cases.ts)
 * is built by berth (native where it has no RUN, through its engine where it has) and by
 * `buildah bud`, Docker's classic builder and BuildKit (Debian's /usr/bin/docker 20.10 with
 * DOCKER_BUILDKIT=1 against one dockerd started for the whole suite). Root file systems (path,
 * type, mode, owner, size, content digest, link target; mtimes aside) and config fields are
 * compared. A difference fails unless the case names it deliberate and docs/dockerfile.md holds
 * that phrase. CONFORMANCE_ONLY=name,name runs some cases; CONFORMANCE_JOBS sets how many at once.
 *
 * The speed line compares berth with `buildah bud` on the native cases (no RUN) after the
 * comparisons, one build at a time: each case CONFORMANCE_SPEED_ROUNDS times (default 1; 3 for
 * medians that hold on a loaded machine, as the figures in docs/performance.md were taken) by
 * each tool, interleaved (berth then buildah, then the other way round), and the per-case
 * medians summed. Both are whole processes (berth's node start-up included), timed from start
 * to exit; buildah's store and berth's cache folder are both warm from the comparisons.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { berthBin, REPO_ROOT } from '../../helpers/cli.js';
import { startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { tempDir } from '../../helpers/tools.js';
import { BASES, CASES, SCRATCH_WORKDIR, URL_BODY } from './cases.js';
import { dockerArchiveConfig, differences, pool, readLayout, sh, writeTree, PEERS, type Built, type Case, type Peer } from './peers.js';

const DOCKER = '/usr/bin/docker'; // Debian's 20.10 client: the one that still drives BuildKit without buildx
const only = process.env.CONFORMANCE_ONLY?.split(',').filter(Boolean);
const cases = only ? CASES.filter((c) => only.includes(c.name)) : CASES;
const jobs = Number(process.env.CONFORMANCE_JOBS ?? 3);
// One round keeps the suite's time in CI (three rounds cost about 200 s more there).
const speedRounds = Math.max(1, Number(process.env.CONFORMANCE_SPEED_ROUNDS ?? 1));

let dir: string;
let cleanup: () => Promise<void>;
let dockerd: Dockerd;
let server: Server;
let url: string;
const baseTars: Record<string, string> = {};
const buildahGlobal = () => ['--root', join(dir, 'buildah', 'root'), '--runroot', join(dir, 'buildah', 'run'), '--storage-driver', 'vfs'];

interface Outcome {
  berth?: Built[] | string;
  peers: Partial<Record<Peer, Built[] | string>>;
  native: boolean;
}
const outcomes = new Map<string, Outcome>();

function render(c: Case): string {
  return c.dockerfile.replaceAll('{{PLAIN}}', BASES.plain.name).replaceAll('{{MERGED}}', BASES.merged.name).replaceAll('{{URL}}', url);
}

const platformsOf = (c: Case) => c.platforms ?? ['linux/amd64'];

/** berth's build of a case into an OCI layout folder: its exit code and stderr. */
function runBerth(c: Case, ctx: string, work: string, layout: string) {
  const args = ['build', '--dockerfile', join(ctx, 'Dockerfile'), '--context', ctx, '--output', `oci:${layout}:x`];
  for (const p of platformsOf(c)) args.push('--platform', p);
  for (const [k, v] of Object.entries(c.args ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (c.target) args.push('--target', c.target);
  for (const b of Object.values(BASES)) args.push('--build-context', `${b.name}=${baseTars[b.name]}`);
  // One cache folder for the suite, as a user's ~/.cache is: berth keeps V8's compiled code there.
  return berthBin(args, { env: { PATH: process.env.PATH, HOME: work, XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '0', ...dockerd.env, DOCKER_BUILDKIT: '1' } });
}

/** `buildah bud` of a case for one platform, tagged `name`. */
function runBuildah(c: Case, ctx: string, work: string, platform: string, name: string) {
  const common = ['-f', join(ctx, 'Dockerfile'), ...Object.entries(c.args ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), ...(c.target ? ['--target', c.target] : [])];
  return sh('buildah', [...buildahGlobal(), 'bud', '--isolation', 'chroot', '--format', 'docker', '--pull-never', '--platform', platform, '-t', name, ...common, ctx], { env: { ...process.env, HOME: work } });
}

async function buildBerth(c: Case, ctx: string, work: string): Promise<Built[] | string> {
  const layout = join(work, 'berth-layout');
  const r = await runBerth(c, ctx, work, layout);
  if (r.code !== 0) return `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`;
  if (platformsOf(c).length === 1) return [await readLayout(layout, 'x', join(work, 'berth-bundle'))];
  const out: Built[] = [];
  for (const [i, p] of platformsOf(c).entries()) {
    const [, arch, variant] = p.split('/');
    const one = join(work, `berth-one-${i}`);
    await sh('skopeo', ['copy', '-q', '--override-arch', arch!, ...(variant ? ['--override-variant', variant] : []), `oci:${layout}:x`, `oci:${one}:x`]);
    out.push(await readLayout(one, 'x', join(work, `berth-bundle-${i}`)));
  }
  return out;
}

/** A peer's build, tried twice: buildah's vfs store sometimes loses a layer to a concurrent build ("layer not known"). */
async function buildPeer(peer: Peer, c: Case, ctx: string, work: string): Promise<Built[] | string> {
  const first = await buildPeerOnce(peer, c, ctx, work);
  if (typeof first !== 'string') return first;
  await rm(join(work, 'retry'), { recursive: true, force: true });
  await mkdir(join(work, 'retry'), { recursive: true });
  return buildPeerOnce(peer, c, ctx, join(work, 'retry'));
}

async function buildPeerOnce(peer: Peer, c: Case, ctx: string, work: string): Promise<Built[] | string> {
  const out: Built[] = [];
  for (const [i, platform] of platformsOf(c).entries()) {
    const name = `localhost/conformance/${c.name.toLowerCase()}-${peer}:${i}`;
    const layout = join(work, `${peer}-layout-${i}`);
    let config: Record<string, unknown>;
    const common = ['-f', join(ctx, 'Dockerfile'), ...Object.entries(c.args ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), ...(c.target ? ['--target', c.target] : [])];
    try {
      const saved = join(work, `${peer}-${i}.tar`);
      if (peer === 'buildah') {
        await runBuildah(c, ctx, work, platform, name);
        await sh('buildah', [...buildahGlobal(), 'push', '-q', name, `docker-archive:${saved}:${name}`]);
        await sh('buildah', [...buildahGlobal(), 'rmi', name]).catch(() => undefined);
      } else {
        const env = { ...dockerd.env, DOCKER_BUILDKIT: peer === 'buildkit' ? '1' : '0' };
        await sh(DOCKER, ['build', '-q', '--network', 'host', '--platform', platform, '-t', name, ...common, ctx], { env });
        await sh(DOCKER, ['save', '-o', saved, name], { env });
        await sh(DOCKER, ['rmi', name], { env }).catch(() => undefined);
      }
      await sh('skopeo', ['copy', '-q', `docker-archive:${saved}`, `oci:${layout}:x`]);
      config = await dockerArchiveConfig(saved);
    } catch (err) {
      return `failed: ${(err as Error).message.split('\n').slice(-2).join(' | ')}`;
    }
    out.push(await readLayout(layout, 'x', join(work, `${peer}-bundle-${i}`), config));
  }
  return out;
}

async function runCase(c: Case): Promise<void> {
  const work = join(dir, 'cases', c.name);
  const ctx = join(work, 'ctx');
  await writeTree(ctx, c.files ?? {}, work);
  await writeFile(join(ctx, 'Dockerfile'), render(c));
  const outcome: Outcome = { peers: {}, native: !/^\s*RUN\b/im.test(c.dockerfile) };
  outcome.berth = await buildBerth(c, ctx, work);
  for (const peer of PEERS) if (!c.lacks?.[peer]) outcome.peers[peer] = await buildPeer(peer, c, ctx, work);
  outcomes.set(c.name, outcome);
  await rm(work, { recursive: true, force: true });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-conformance-'));
  server = createServer((req, res) => {
    if (req.url === '/files/data.txt') res.end(URL_BODY);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const [d] = await Promise.all([
    startDockerd(dir, 180_000),
    (async () => {
      for (const base of Object.values(BASES)) {
        const root = join(dir, 'bases', base.name.replace(/\W/g, '_'));
        await writeTree(root, base.files, dir);
        const layer = `${root}.layer.tar`;
        await sh('tar', ['-c', '-f', layer, '--numeric-owner', '--mtime=@0', '--sort=name', '-C', root, '.']);
        const out = `${root}.tar`;
        const r = await berthBin(['build', '--base', 'scratch', '--layer', layer, '--platform', 'linux/amd64', '--tag', base.name, '--output', out], { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '0' } });
        if (r.code !== 0) throw new Error(`base ${base.name}: ${r.stderr}`);
        baseTars[base.name] = out;
      }
    })(),
  ]);
  dockerd = d;
  await mkdir(join(dockerd.dir, 'config'), { recursive: true });
  await writeFile(join(dockerd.dir, 'config', 'config.json'), '{"auths":{}}\n');
  await mkdir(join(dir, 'buildah'), { recursive: true });
  for (const base of Object.values(BASES)) {
    await sh(DOCKER, ['load', '-q', '-i', baseTars[base.name]!], { env: dockerd.env });
    await sh('buildah', [...buildahGlobal(), 'pull', '-q', `docker-archive:${baseTars[base.name]}`]);
  }
  await pool(cases, jobs, runCase);
}, 3 * 60 * 60_000);

afterAll(async () => {
  await dockerd?.stop();
  // dockerd leaves its network namespace mounted in its exec root.
  const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => dir && m.startsWith(dir));
  for (const m of mounts.reverse()) await sh('umount', ['-l', m]).catch(() => undefined);
  await new Promise((r) => server?.close(r));
  await cleanup?.();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/**
 * The native cases both berth and buildah built, timed one build at a time with nothing else
 * of the suite running: per case, `speedRounds` builds by each, interleaved, the order swapped
 * each round; the sums of the per-case medians in milliseconds.
 */
async function timeNative(): Promise<{ cases: number; berth: number; buildah: number }> {
  const timed = cases.filter((c) => {
    const o = outcomes.get(c.name);
    return o?.native && !c.refused && !c.lacks?.buildah && Array.isArray(o.berth) && Array.isArray(o.peers.buildah);
  });
  let berth = 0;
  let buildah = 0;
  for (const [i, c] of timed.entries()) {
    const work = join(dir, 'speed', c.name);
    const ctx = join(work, 'ctx');
    await writeTree(ctx, c.files ?? {}, work);
    await writeFile(join(ctx, 'Dockerfile'), render(c));
    const times = { berth: [] as number[], buildah: [] as number[] };
    const tools = {
      berth: async (round: number) => {
        const layout = join(work, `berth-${round}`);
        const t = process.hrtime.bigint();
        const r = await runBerth(c, ctx, work, layout);
        times.berth.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.code !== 0) throw new Error(`${c.name}: berth exit ${r.code}: ${r.stderr.trim()}`);
        await rm(layout, { recursive: true, force: true });
      },
      buildah: async (round: number) => {
        let ms = 0;
        for (const [p, platform] of platformsOf(c).entries()) {
          const name = `localhost/conformance/speed-${c.name.toLowerCase()}:${round}-${p}`;
          const t = process.hrtime.bigint();
          await runBuildah(c, ctx, work, platform, name);
          ms += Number(process.hrtime.bigint() - t) / 1e6;
          await sh('buildah', [...buildahGlobal(), 'rmi', name]).catch(() => undefined);
        }
        times.buildah.push(ms);
      },
    };
    for (let round = 0; round < speedRounds; round++) {
      const order = (round + i) % 2 === 0 ? (['berth', 'buildah'] as const) : (['buildah', 'berth'] as const);
      for (const tool of order) await tools[tool](round);
    }
    berth += median(times.berth);
    buildah += median(times.buildah);
    await rm(work, { recursive: true, force: true });
  }
  return { cases: timed.length, berth, buildah };
}

type Cell = { text: string; ok: boolean };

/** Differences kept on purpose in every case where they show, each with the phrase docs/dockerfile.md holds. */
const GLOBAL_DELIBERATE: { phrase: string; peers: Peer[]; test: (line: string) => boolean }[] = [
  { phrase: SCRATCH_WORKDIR, peers: ['buildah', 'classic'], test: (l) => l === 'config WorkingDir: "/" vs (unset)' },
  {
    phrase: 'RUN leaves no mount points',
    peers: ['buildah', 'classic', 'buildkit'],
    test: (l) => /^\+ \/(dev|proc|sys|run)\/ dir 0755 0:0$/.test(l) || /^\+ \/etc\/(hostname|hosts|resolv\.conf) file \d+ 0:0 0 e3b0c44298fc1c14$/.test(l),
  },
];

function judge(c: Case, peer: Peer, outcome: Outcome, docs: string): Cell {
  if (c.lacks?.[peer]) return { text: `n/a (${c.lacks[peer]})`, ok: true };
  const theirs = outcome.peers[peer];
  const ours = outcome.berth;
  if (c.refused) {
    const refused = typeof ours === 'string' && ours.startsWith('exit 2:');
    return { text: refused ? `refused on purpose (${c.refused})` : `NOT REFUSED: ${typeof ours === 'string' ? ours : 'built'}`, ok: refused && docs.includes(c.refused) };
  }
  if (typeof theirs === 'string') return { text: `peer ${theirs}`, ok: false };
  if (typeof ours === 'string') return { text: `berth ${ours}`, ok: false };
  const all = ours!.flatMap((b, i) => differences(b, theirs![i]!));
  const phrases = new Set<string>();
  const diffs = all.filter((line) => {
    const rule = GLOBAL_DELIBERATE.find((r) => r.peers.includes(peer) && r.test(line));
    if (rule) phrases.add(rule.phrase);
    return !rule;
  });
  if (all.length === 0) return { text: 'same', ok: true };
  const why = c.deliberate?.[peer];
  if (why && diffs.length) phrases.add(why);
  if (diffs.length === 0 || why) return { text: `differs on purpose (${[...phrases].join('; ')})`, ok: [...phrases].every((p) => docs.includes(p)) };
  return { text: `DIFFERS:\n${diffs.slice(0, 30).join('\n')}`, ok: false };
}

describe('conformance: berth beside buildah, Docker and BuildKit', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const docs = await readFile(join(REPO_ROOT, 'docs', 'dockerfile.md'), 'utf8');
    const outcome = outcomes.get(c.name);
    expect(outcome).toBeDefined();
    const cells: (readonly [Peer, Cell])[] = PEERS.map((p) => [p, judge(c, p, outcome!, docs)] as const);
    if (!c.refused && typeof outcome!.berth === 'string') cells.push(['berth' as Peer, { text: `berth ${outcome!.berth}`, ok: false }]);
    const bad = cells.filter(([, cell]) => !cell.ok).map(([p, cell]) => `${p}: ${cell.text}`);
    expect(bad).toEqual([]);
  });

  it('prints the table and the native build time beside buildah bud', async () => {
    const docs = await readFile(join(REPO_ROOT, 'docs', 'dockerfile.md'), 'utf8');
    const lines = ['| case | berth vs buildah | berth vs Docker (classic) | berth vs BuildKit |', '|---|---|---|---|'];
    for (const c of cases) {
      const o = outcomes.get(c.name);
      if (!o) continue;
      const cell = (p: Peer) => judge(c, p, o, docs).text.split('\n')[0]!.replace(/\|/g, '\\|');
      lines.push(`| ${c.name} | ${cell('buildah')} | ${cell('classic')} | ${cell('buildkit')} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    const t = await timeNative();
    const speed = `conformance native cases (${t.cases}, one build at a time, median of ${speedRounds} interleaved runs each): berth ${(t.berth / 1000).toFixed(1)} s, buildah bud ${(t.buildah / 1000).toFixed(1)} s (${(t.buildah / Math.max(t.berth, 1)).toFixed(2)}x)`;
    process.stdout.write(`${speed}\n`);
    console.log(speed);
    expect(cases.length).toBeGreaterThan(0);
  }, 2 * 60 * 60_000);
});
