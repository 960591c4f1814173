import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';
import { testEnv } from '../registry/fixtures.js';
import { componentTarballs, releaseYaml } from './fixtures.js';


const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const inspectRaw = (ref: string) => run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]);
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'ppc64le' },
];
const COMPONENTS = ['controller', 'webhook', 'cainjector'];
const WRITES = new Set(['PUT', 'POST', 'PATCH']);

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let proxy: FaultProxy;
let env: NodeJS.ProcessEnv;
let tarballs: Record<string, Record<string, string>>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-release-'));
  reg = await startRegistry();
  proxy = await startFaultProxy({ target: reg.host });
  env = testEnv(dir);
  tarballs = await componentTarballs(dir, COMPONENTS);
});
afterAll(async () => {
  await proxy.close();
  await reg.stop();
  await cleanup();
});

/** Every child of the index under `ref` is in the registry and is the platform the index says. */
async function checkIndex(repo: string, tag: string, mediaType: string, sorted = false): Promise<string> {
  const raw = await inspectRaw(`${repo}:${tag}`);
  const index = JSON.parse(raw);
  expect(index.mediaType).toBe(mediaType);
  const key = (p: { architecture: string }) => p.architecture;
  const platforms = index.manifests.map((m: { platform: { architecture: string } }) => m.platform);
  if (sorted) expect([...platforms].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...PLATFORMS].sort((a, b) => key(a).localeCompare(key(b))));
  else expect(platforms).toEqual(PLATFORMS);
  for (const m of index.manifests) {
    const child = await inspectRaw(`${repo}@${m.digest}`);
    expect(sha256(child)).toBe(m.digest);
    const config = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${repo}@${m.digest}`]));
    expect({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }).toEqual(m.platform);
  }
  return sha256(raw);
}

describe('berth release against a real registry', () => {
  test('3 components x 4 platforms to two namespaces: every child there, platforms right, every tag on the index digest', async () => {
    const cfg = join(dir, 'release.yaml');
    await writeFile(cfg, releaseYaml(tarballs, [`registries: [${reg.host}/ns1, ${reg.host}/ns2]`, 'tags: [v1.0.0, latest]']));
    const summary = join(dir, 'summary.md');
    const output = join(dir, 'output.txt');
    const r = await berth(['release', '--config', cfg, '--json'], { env: { ...env, GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output } });
    expect(r.stderr).toMatch(/^COMPONENT +PLATFORMS +DIGEST +TAGS +REPOSITORIES$/m);
    expect(r.code).toBe(0);
    const firstJson = JSON.parse(r.stdout) as { components: { name: string; digest: string }[] };
    expect(firstJson.components.map((c) => c.name)).toEqual(COMPONENTS);
    // One summary line per image pushed: per repository and platform, never merged across components.
    const summaries = r.stderr.split('\n').filter((l) => /^berth: releasing ns[12]\/\S+ linux\/\S+: \d+ blobs, [\d.]+ (?:B|KiB|MiB) \(.+\)$/.test(l));
    expect(summaries).toHaveLength(COMPONENTS.length * 2 * PLATFORMS.length);
    expect(new Set(summaries.map((l) => l.split(':')[1])).size).toBe(summaries.length);
    for (const c of firstJson.components) {
      for (const ns of ['ns1', 'ns2']) {
        const repo = `${reg.host}/${ns}/${c.name}`;
        expect(await checkIndex(repo, 'v1.0.0', 'application/vnd.oci.image.index.v1+json')).toBe(c.digest);
        expect(sha256(await inspectRaw(`${repo}:latest`))).toBe(c.digest);
      }
    }
    // skopeo copies the whole index, checking every digest.
    const dest = join(dir, 'skopeo-controller');
    await run('skopeo', ['copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${reg.host}/ns2/controller:v1.0.0`, `dir:${dest}`]);
    expect(sha256(await readFile(join(dest, 'manifest.json')))).toBe(firstJson.components[0]!.digest);
    expect((await readdir(dest)).filter((f) => f.endsWith('.manifest.json'))).toHaveLength(4);
    // GitHub Actions files.
    const md = await readFile(summary, 'utf8');
    expect(md).toContain('| Component | Platforms | Digest | Tags | Repositories |');
    expect(md).toContain(`| controller | linux/amd64, linux/arm/v7, linux/arm64, linux/ppc64le | \`${firstJson.components[0]!.digest}\` | v1.0.0, latest |`);
    const out = await readFile(output, 'utf8');
    expect(out).toMatch(/^digest=\{"controller":"sha256:[0-9a-f]{64}",.*\}\nimages=\[".*"\]\nfailed=\[\]\n$/);
    expect(JSON.parse(out.split('\n')[1]!.slice('images='.length))).toHaveLength(6);
  });

  test('a re-run uploads nothing; --if-missing skips what is published', async () => {
    // Its own first release (no test reads what another one published).
    const cfg = join(dir, 'rerun.yaml');
    await writeFile(cfg, releaseYaml(tarballs, [`registries: [${reg.host}/rerun]`, 'tags: [v1.0.0]']));
    const first = await berth(['release', '--config', cfg, '--json'], { env });
    expect(first.code).toBe(0);
    const firstJson = JSON.parse(first.stdout) as { components: { digest: string }[] };
    const r = await berth(['release', '--config', cfg, '--json'], { env });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    for (const c of json.components) {
      for (const t of c.targets) {
        expect(t.upToDate).toBe(true);
        expect(t.blobs.uploaded).toBe(0);
      }
    }
    expect(json.components.map((c: { digest: string }) => c.digest)).toEqual(firstJson.components.map((c) => c.digest));
    const s = await berth(['release', '--config', cfg, '--if-missing', '--json'], { env });
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).components.every((c: { skipped: boolean }) => c.skipped)).toBe(true);
    expect(s.stderr).toContain('already published, skipped (--if-missing)');
  });

  test('--dry-run against a registry says which blobs are there and writes nothing', async () => {
    const there = join(dir, 'dry-there.yaml');
    await writeFile(there, releaseYaml({ controller: tarballs.controller! }, [`registries: [${reg.host}/dry-there]`, 'tags: [v1.0.0]']));
    expect((await berth(['release', '--config', there], { env })).code).toBe(0);
    const before = proxy.log.length;
    const cfg = join(dir, 'dry.yaml');
    await writeFile(cfg, releaseYaml({ controller: tarballs.controller! }, [`registries: [${proxy.host}/dry-there, ${proxy.host}/dry-fresh]`, 'tags: [v1.0.0]']));
    const r = await berth(['release', '--config', cfg, '--dry-run', '--json'], { env });
    expect(r.code).toBe(0);
    const [ns1, fresh] = JSON.parse(r.stdout).components[0].targets;
    expect(ns1.steps[0].existing).toBe(ns1.steps[0].digests.length);
    expect(ns1.steps.at(-1)).toMatchObject({ kind: 'tag', tag: 'v1.0.0', existing: true });
    expect(fresh.steps[0].existing).toBe(0);
    expect(r.stderr).toMatch(/-> 127\.0\.0\.1:\d+\/dry-fresh\/controller: \d+ blobs \(0 there\), manifest linux\/amd64/);
    expect(proxy.log.slice(before).filter((e) => WRITES.has(e.method))).toEqual([]);
  });

  test('--format docker gives a manifest list over converted manifests; arch-suffixed repositories', async () => {
    const r = await berth(
      ['release', '--component', `controller=${dir}/controller-*.tar`, '--registry', `${reg.host}/legacy`, '--tag', 'v1', '--format', 'docker', '--arch-suffixed-repos', '--json'],
      { env },
    );
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout).components[0];
    expect(c.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    const digest = await checkIndex(`${reg.host}/legacy/controller`, 'v1', 'application/vnd.docker.distribution.manifest.list.v2+json', true);
    expect(digest).toBe(c.digest);
    const child = JSON.parse(await inspectRaw(`${reg.host}/legacy/controller-arm:v1`));
    expect(child.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(sha256(await inspectRaw(`${reg.host}/legacy/controller-arm:v1`))).toBe(c.platforms.find((p: { platform: string }) => p.platform === 'linux/arm/v7').digest);
  });

  test('bad input: exit 2, one line, before any push', async () => {
    const other = join(dir, 'other');
    await mkdir(other, { recursive: true });
    await copyFile(tarballs.controller!['linux/amd64']!, join(other, 'a.tar'));
    await copyFile(tarballs.webhook!['linux/amd64']!, join(other, 'b.tar'));
    const mismatch = join(dir, 'mismatch.yaml');
    await writeFile(mismatch, `registries: [${proxy.host}/bad]\ntags: [v1]\ncomponents:\n  app:\n    platforms:\n      linux/amd64: ${tarballs.controller!['linux/arm64']}\n`);
    const missing = join(dir, 'missing.yaml');
    await writeFile(missing, `registries: [${proxy.host}/bad]\ntags: [v1]\ncomponents:\n  app:\n    platforms:\n      linux/amd64: ${join(dir, 'nope.tar')}\n`);
    const cases: [string[], RegExp][] = [
      [['--component', `app=${other}/*.tar`, '--registry', `${proxy.host}/bad`, '--tag', 'v1'], /^berth: --component app: two images for linux\/amd64: .*a\.tar and .*b\.tar\n$/],
      [['--config', mismatch], new RegExp(`^berth: ${mismatch}:6: components\\.app\\.platforms\\.linux/amd64: .* is an image for linux/arm64, not linux/amd64\\n$`)],
      [['--config', missing], new RegExp(`^berth: ${missing}:6: components\\.app\\.platforms\\.linux/amd64: .*nope\\.tar: no such file\\n$`)],
      [['--component', `app=${other}/a.tar`, '--registry', `${proxy.host}/bad`, '--tag', 'v1+x'], /^berth: --tag "v1\+x": .*not a valid tag.*\n$/],
    ];
    const before = proxy.log.length;
    for (const [args, message] of cases) {
      const r = await berth(['release', ...args], { env });
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    }
    expect(proxy.log.slice(before).filter((e) => WRITES.has(e.method))).toEqual([]);
    // An unreachable registry: an operational failure (1), one line, nothing written anywhere.
    const port = await freePort();
    const u = await berth(['release', '--component', `app=${other}/a.tar`, '--registry', `127.0.0.1:${port}/x`, '--tag', 'v1', '--retries', '0'], { env });
    expect(u.code).toBe(1);
    expect(u.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(u.stderr).toContain(`127.0.0.1:${port}`);
  });

  test('an interrupted release, run again, completes; no tag ever points at an incomplete index', async () => {
    const cfg = join(dir, 'cut.yaml');
    const one = { controller: tarballs.controller!, webhook: tarballs.webhook! };
    await writeFile(cfg, releaseYaml(one, [`registries: [${proxy.host}/cut]`, 'tags: [v2]']));
    const tagsOk = async () => {
      for (const c of Object.keys(one)) {
        const raw = await inspectRaw(`${reg.host}/cut/${c}:v2`).catch(() => undefined);
        if (raw === undefined) continue; // no tag yet: fine
        for (const m of JSON.parse(raw).manifests) expect(sha256(await inspectRaw(`${reg.host}/cut/${c}@${m.digest}`))).toBe(m.digest);
      }
    };
    const start = proxy.log.length;
    // Each run is cut after its own n-th request (setFaults counts from 0 again), at points
    // from the reach-every-registry check to the tags; every one of them is interrupted.
    for (const n of [6, 14, 22, 30, 38]) {
      proxy.setFaults([], n);
      const r = await berth(['release', '--config', cfg, '--retries', '0'], { env });
      expect({ n, code: r.code }).toEqual({ n, code: 1 });
      expect(proxy.log.slice(start).some((l) => l.fault === 'reset')).toBe(true);
      // The error is the last line; before it, only progress and what went live (or did not).
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines.at(-1)).toMatch(/^berth: .*(gave up after 1 try|ECONNRESET|socket hang up)/);
      expect(lines.slice(0, -1).filter((l) => !/^(berth: (releasing|released|failed) |COMPONENT |controller|webhook)/.test(l))).toEqual([]);
      proxy.setFaults([]);
      await tagsOk();
    }
    const r = await berth(['release', '--config', cfg, '--json'], { env });
    expect(r.code).toBe(0);
    await tagsOk();
    for (const c of JSON.parse(r.stdout).components) expect(await checkIndex(`${reg.host}/cut/${c.name}`, 'v2', 'application/vnd.oci.image.index.v1+json')).toBe(c.digest);
    // Over every run: a tag was only ever written after the index, and the index after each child.
    const log = proxy.log.slice(start);
    const firstPut = (path: string) => log.findIndex((l) => l.method === 'PUT' && l.path === path && l.status === 201);
    for (const c of JSON.parse(r.stdout).components as { name: string; digest: string; platforms: { digest: string }[] }[]) {
      const at = (ref: string) => `/v2/cut/${c.name}/manifests/${ref}`;
      const tagPuts = log.flatMap((l, i) => (l.method === 'PUT' && l.path === at('v2') ? [i] : []));
      expect(tagPuts.length).toBeGreaterThan(0);
      const index = firstPut(at(c.digest));
      expect(index).toBeGreaterThanOrEqual(0);
      expect(Math.min(...tagPuts)).toBeGreaterThan(index);
      for (const p of c.platforms) expect(firstPut(at(p.digest))).toBeLessThan(index);
    }
  });

  test('a part-way failure says per component what went live: stderr, --json, GitHub files; exit 1', async () => {
    const cfg = join(dir, 'part.yaml');
    const one = { controller: tarballs.controller!, webhook: tarballs.webhook! };
    await writeFile(cfg, releaseYaml(one, [`registries: [${proxy.host}/part]`, 'tags: [v5]']));
    // Every write to part/webhook fails for good; part/controller is untouched.
    const webhook = /^\/v2\/part\/webhook\//;
    proxy.setFaults([
      { method: 'POST', path: webhook, action: { kind: 'status', status: 500 } },
      { method: 'PUT', path: webhook, action: { kind: 'status', status: 500 } },
    ]);
    const summary = join(dir, 'part-summary.md');
    const output = join(dir, 'part-output.txt');
    const r = await berth(['release', '--config', cfg, '--retries', '1', '--json'], { env: { ...env, GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output } });
    proxy.setFaults([]);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    const [controller, hook] = json.components;
    expect(controller).toMatchObject({ name: 'controller', status: 'published' });
    expect(controller.error).toBeUndefined();
    expect(hook).toMatchObject({ name: 'webhook', status: 'failed', targets: [], error: { code: 'REGISTRY' } });
    expect(hook.error.message).toMatch(/gave up after 2 tries: (POST|PUT) http:\/\/127\.0\.0\.1:\d+\/v2\/part\/webhook\/.* answered 500/);
    expect(json.error.code).toBe('REGISTRY');
    expect(json.error.message).toMatch(/^release incomplete: 1 of 2 components failed \(webhook\); webhook: /);
    // stderr: the table, a line per component, then the error.
    expect(r.stderr).toMatch(/^COMPONENT +PLATFORMS +DIGEST +TAGS +REPOSITORIES$/m);
    expect(r.stderr).toMatch(/^webhook \(FAILED\) +linux\/amd64/m);
    expect(r.stderr).toContain(`berth: released controller ${controller.digest} (`);
    expect(r.stderr).toContain(`berth: failed webhook ${hook.digest} (nothing of it went live): ${hook.error.message}\n`);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`berth: ${json.error.message}`);
    // GitHub: only what went live in the outputs; the failure in the summary.
    const out = await readFile(output, 'utf8');
    expect(out).toBe(`digest=${JSON.stringify({ controller: controller.digest })}\nimages=${JSON.stringify([`${proxy.host}/part/controller@${controller.digest}`])}\nfailed=["webhook"]\n`);
    const md = await readFile(summary, 'utf8');
    expect(md).toContain('| webhook (FAILED) |');
    expect(md).toContain('**Release incomplete**: 1 of 2 components failed.');
    expect(md).toContain(`- webhook: ${hook.error.message.replaceAll('|', '\\|')}`);
    // The registry agrees: controller is live under its tag, webhook has no tag.
    expect(sha256(await inspectRaw(`${reg.host}/part/controller:v5`))).toBe(controller.digest);
    await expect(inspectRaw(`${reg.host}/part/webhook:v5`)).rejects.toThrow(/manifest unknown/);
  });

  test('20% of requests faulted at random: releases complete with the default retries, over several seeds', async () => {
    const cfg = join(dir, 'random.yaml');
    const two = { controller: tarballs.controller!, webhook: tarballs.webhook! };
    for (const seed of [11, 12, 13]) {
      await writeFile(cfg, releaseYaml(two, [`registries: [${proxy.host}/random${seed}]`, 'tags: [v6]']));
      const before = proxy.log.length;
      proxy.setRandom({ rate: 0.2, seed });
      const r = await berth(['release', '--config', cfg, '--json'], { env: testEnv(join(dir, `random-${seed}`)) });
      proxy.setRandom(undefined);
      expect({ seed, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ seed, code: 0, stderr: '' });
      expect(proxy.log.slice(before).filter((l) => l.fault).length).toBeGreaterThan(0);
      for (const c of JSON.parse(r.stdout).components) expect(await checkIndex(`${reg.host}/random${seed}/${c.name}`, 'v6', 'application/vnd.oci.image.index.v1+json')).toBe(c.digest);
    }
  });

  test('the read-back is real: an index that reads back wrong fails the release (exit 1, DIGEST_MISMATCH)', async () => {
    const cfg = join(dir, 'readback.yaml');
    await writeFile(cfg, releaseYaml({ cainjector: tarballs.cainjector! }, [`registries: [${proxy.host}/readback]`, 'tags: [v7]']));
    // Writes go through untouched; every manifest read by digest comes back with a byte flipped.
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/sha256:/, action: { kind: 'corrupt-response' } }]);
    const r = await berth(['release', '--config', cfg, '--json'], { env });
    proxy.setFaults([]);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.error.code).toBe('DIGEST_MISMATCH');
    expect(json.components[0]).toMatchObject({ name: 'cainjector', status: 'failed', error: { code: 'DIGEST_MISMATCH' } });
    expect(json.components[0].error.message).toMatch(/readback\/cainjector: manifest sha256:[0-9a-f]{64} does not match its digest/);
  });

  test('--to oci:DIR publishes into a local layout with no network', async () => {
    const layout = join(dir, 'layout');
    const r = await berth(['release', '--component', `webhook=${dir}/webhook-*.tar`, '--tag', 'v3', '--to', `oci:${layout}`, '--json'], { env });
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout).components[0];
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([expect.objectContaining({ digest: c.digest, annotations: { 'org.opencontainers.image.ref.name': 'webhook:v3' } })]);
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layout}:webhook:v3`]);
    expect(sha256(raw)).toBe(c.digest);
  });

  test('berth index: local index assembly into a tarball and a layout', async () => {
    const t = tarballs.cainjector!;
    const out = join(dir, 'idx.tar');
    const r = await berth(['index', '--image', t['linux/amd64']!, '--image', t['linux/arm/v7']!, '--output', out, '--format', 'docker', '--json'], { env });
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(res.manifests.map((m: { platform: string }) => m.platform)).toEqual(['linux/amd64', 'linux/arm/v7']);
    const layout = join(dir, 'idx-layout');
    const l = await berth(['index', '--image', t['linux/amd64']!, '--image', t['linux/arm64']!, '--output', `oci:${layout}`], { env });
    expect(l.code).toBe(0);
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layout}`]);
    expect(`${sha256(raw)}\n`).toBe(l.stdout);
    const dup = await berth(['index', '--image', t['linux/amd64']!, '--image', t['linux/amd64']!, '--output', join(dir, 'dup.tar')], { env });
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/^berth: --image: two images for linux\/amd64/);
  });
});
