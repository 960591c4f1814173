/**
 * kyma's image-builder as its workflows and ProwJobs run it, with berth's default flags, on
 * a miniature of test-infra (test/fixtures/kyma): a Dockerfile under cmd/ built from the
 * repository root, one with its own Dockerfile.dockerignore and a build-arg file, variants,
 * presubmit and postsubmit registries, restricted ones with separate pull repositories,
 * signing by a notary service (a server of the test) and a cosign key.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../../helpers/cli.js';
import { startNotary, type NotaryService } from '../../helpers/notary.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { tempDir } from '../../helpers/tools.js';
import { cleanEnv, type TestRepo } from '../../status/git-repo.js';
import { berthIn, inspect, parsed, seedTree, tagsOf, type Listed, type Outcome } from './trees.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let notary: NotaryService;
/** What the notary service was asked to sign since the last reset. */
const signedNow = () =>
  notary.seen.flatMap((r) => (JSON.parse(r.body) as { trustedCollections: { gun: string; targets: { name: string }[] }[] }).trustedCollections.map((c) => ({ gun: c.gun, tags: c.targets.map((t) => t.name) })));
let dir: string;
let cleanup: () => Promise<void>;
let repo: TestRepo;
let berth: (args: string[], extra?: Record<string, string>) => Promise<CliResult>;
let reg: string;

const NAMES = ['buildkit-image-builder', 'kubectl-1.23', 'kubectl-main', 'test-infra/ginkgo'];
const list = async (extra: Record<string, string> = {}) => tagsOf(parsed<Listed>(await berth(['images', 'list', '--json'], extra)));
const presubmit = { JOB_TYPE: 'presubmit', PULL_NUMBER: '12', REPO_OWNER: 'kyma-project', REPO_NAME: 'test-infra' };
const postsubmit = async () => ({ JOB_TYPE: 'postsubmit', PULL_BASE_SHA: await repo.head(), REPO_OWNER: 'kyma-project', REPO_NAME: 'test-infra' });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-seed-kyma-'));
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.host });
  notary = await startNotary(dir, 'signify-secret');
  reg = proxy.host;
  repo = await seedTree('kyma', join(dir, 'test-infra'), { REGISTRY: reg, NOTARY: notary.url.replace(/\/sign$/, ''), NOTARY_CA: notary.ca });
  await mkdir(join(repo.dir, 'keys'));
  expect((await berthBin(['keygen', '--format', 'pkcs8', '--output-key-prefix', join(repo.dir, 'keys', 'cosign')], { cwd: repo.dir, env: cleanEnv({ COSIGN_PASSWORD: '' }) })).code).toBe(0);
  berth = berthIn(repo.dir, { XDG_CACHE_HOME: join(dir, 'cache'), SIGNIFY_TOKEN: 'signify-secret', COSIGN_PASSWORD: '' });
}, 120_000);

afterAll(async () => {
  await notary?.close();
  await proxy?.close();
  await registry?.stop();
  await cleanup?.();
});

describe("kyma's image-builder", () => {
  test('list: images.builds (a Dockerfile under cmd/, the repository root as context) beside folder images and variants', async () => {
    const r = await berth(['images', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = parsed<Listed>(r);
    expect(Object.keys(tagsOf(listed)).sort()).toEqual(NAMES);
    expect(Object.fromEntries(listed.map((l) => [l.name, l.platforms]))).toMatchObject({ 'buildkit-image-builder': ['linux/amd64', 'linux/arm64'], 'test-infra/ginkgo': ['linux/amd64'] });
  });

  test('presubmit: the dev registry, pr-<N> tags, nothing signed; --restricted: the restricted dev repository, URIs of its pull repository', async () => {
    notary.seen.length = 0;
    const report = join(dir, 'pre-report.json');
    const r = await berth(['images', 'push', '--all', '--json', '--report', report], presubmit);
    expect(r.stderr).not.toContain('signify-secret');
    expect(r.code).toBe(0);
    const outcomes = parsed<Outcome>(r);
    expect(outcomes.map((o) => [o.name, o.status, o.repositories[0], o.tags.slice(1), o.signed])).toEqual([
      ['buildkit-image-builder', 'published', `${reg}/kyma-project/dev/buildkit-image-builder`, ['pr-12'], false],
      ['kubectl-1.23', 'published', `${reg}/kyma-project/dev/kubectl`, ['pr-12-1.23'], false],
      ['kubectl-main', 'published', `${reg}/kyma-project/dev/kubectl`, ['pr-12-main'], false],
      ['test-infra/ginkgo', 'published', `${reg}/kyma-project/dev/test-infra/ginkgo`, [(await repo.head()).slice(0, 8), 'pr-12'], false],
    ]);
    expect(signedNow()).toEqual([]);

    const rr = await berth(['images', 'push', 'test-infra/ginkgo', '--restricted', '--json', '--report', report], presubmit);
    expect(rr.code).toBe(0);
    const [o] = parsed<Outcome>(rr);
    expect(o!.repositories).toEqual([`${reg}/kyma-project/kyma-restricted-images-dev/test-infra/ginkgo`]);
    expect(o!.pullRepositories).toEqual([`${reg}/kyma-project/restricted-dev/test-infra/ginkgo`]);
    const rep = JSON.parse(await readFile(report, 'utf8')) as { images_list: string[] };
    expect(rep.images_list).toEqual(o!.tags.map((t) => `${reg}/kyma-project/restricted-dev/test-infra/ginkgo:${t}`));
    expect(signedNow()).toEqual([]);
  }, 120_000);

  test('postsubmit: the prod registry, signed by the notary service and the cosign key; again: up to date and "signed before", nothing re-signed', async () => {
    notary.seen.length = 0;
    const env = await postsubmit();
    const r = await berth(['images', 'push', '--all', '--json'], env);
    expect(r.stderr).not.toContain('signify-secret');
    expect(r.code).toBe(0);
    const outcomes = parsed<Outcome>(r);
    expect(outcomes.map((o) => [o.name, o.status, o.signed, o.signedBy])).toEqual(NAMES.map((n) => [n, 'published', true, 'this run']));
    expect(outcomes.every((o) => o.tags.some((t) => /^v\d{8}-[0-9a-f]{8}/.test(t)))).toBe(true);
    expect(signedNow().map((s) => s.gun).sort()).toEqual(NAMES.map((n) => `${reg}/kyma-project/prod/${n.replace(/-(1\.23|main)$/, '')}`).sort());

    // BUILD_COMMIT_SHA reached the Dockerfile that declares it.
    const ginkgo = outcomes.find((o) => o.name === 'test-infra/ginkgo')!;
    const config = (await inspect(`${registry.host}/kyma-project/prod/test-infra/ginkgo:${ginkgo.tags[0]}`)) as unknown as { Labels: Record<string, string> };
    expect(config.Labels).toEqual({ 'org.opencontainers.image.revision': env.PULL_BASE_SHA, 'go.version': '1.22' });

    notary.seen.length = 0;
    const again = await berth(['images', 'push', '--all', '--json'], env);
    expect(again.code).toBe(0);
    expect(parsed<Outcome>(again).map((o) => [o.name, o.status, o.signed, o.signedBy])).toEqual(NAMES.map((n) => [n, 'up-to-date', true, 'before']));
    expect(again.stderr).toContain('nothing to push, signed before');
    expect(signedNow()).toEqual([]);
  }, 120_000);

  test('each change re-tags exactly the images that read it: cmd/, pkg/, one variant, a commit (BUILD_COMMIT_SHA), --build-arg-file', async () => {
    const t0 = await list();
    const changed = (a: Record<string, string>, b: Record<string, string>) => NAMES.filter((n) => a[n] !== b[n]);
    await writeFile(join(repo.dir, 'cmd', 'image-builder', 'main.go'), 'package main\n\nfunc main() { println(1) }\n');
    const t1 = await list();
    expect(changed(t0, t1)).toEqual(['buildkit-image-builder']);
    await writeFile(join(repo.dir, 'pkg', 'tags', 'tag.go'), 'package tags\n');
    const t2 = await list();
    expect(changed(t1, t2)).toEqual(['buildkit-image-builder', 'test-infra/ginkgo']);
    const variants = join(repo.dir, 'images', 'kubectl', 'variants.yaml');
    await writeFile(variants, (await readFile(variants, 'utf8')).replace('1.23.9', '1.23.17'));
    const t3 = await list();
    // Not kubectl-main: each variant's hash covers its own entry. buildkit's context is the whole repository.
    expect(changed(t2, t3)).toEqual(['buildkit-image-builder', 'kubectl-1.23']);
    // A commit nothing reads: only ginkgo, whose Dockerfile declares ARG BUILD_COMMIT_SHA.
    await repo.commit({ 'docs/notes.md': 'notes\n' });
    const t4 = await list();
    expect(changed(t3, t4)).toEqual(['test-infra/ginkgo']);
    const args = join(dir, 'go-1.23.env');
    await writeFile(args, '# kyma envs file\nGO_VERSION=1.23\n');
    const t5 = tagsOf(parsed<Listed>(await berth(['images', 'list', '--json', '--build-arg-file', args])));
    expect(changed(t4, t5)).toEqual(['test-infra/ginkgo']);
  }, 120_000);

  test('--dry-run lists every tag and signature a real run would write, and writes nothing', async () => {
    await writeFile(join(repo.dir, 'cmd', 'image-builder', 'main.go'), 'package main\n\nfunc main() { println("dry") }\n');
    proxy.log.length = 0;
    notary.seen.length = 0;
    const r = await berth(['images', 'push', 'buildkit-image-builder', '--dry-run', '--json'], await postsubmit());
    expect(r.code).toBe(0);
    const [o] = parsed<Outcome>(r);
    const repoName = `${reg}/kyma-project/prod/buildkit-image-builder`;
    expect(o!.status).toBe('planned');
    expect(o!.wouldTag).toEqual(o!.tags.map((t) => `${repoName}:${t}`));
    expect(o!.wouldSign).toEqual([repoName]);
    expect(r.stderr).toContain(`and sign in ${repoName} (dry run)`);
    expect(proxy.log.filter((e) => !['GET', 'HEAD'].includes(e.method))).toEqual([]);
    expect(signedNow()).toEqual([]);
  });

  test('one image failing: the others are published and signed, the report has every image', async () => {
    const df = join(repo.dir, 'images', 'kubectl', 'Dockerfile');
    const saved = await readFile(df, 'utf8');
    await writeFile(df, saved.replace('versions/', 'missing/'));
    await writeFile(join(repo.dir, 'cmd', 'image-builder', 'main.go'), 'package main\n\nfunc main() { println("fail run") }\n');
    try {
      const report = join(dir, 'fail-report.json');
      const r = await berth(['images', 'push', '--all', '--json', '--report', report], await postsubmit());
      expect(r.code).toBe(1);
      const entries = JSON.parse(await readFile(report, 'utf8')) as { image_name: string; status: string; pushed: boolean; signed: boolean }[];
      expect(entries.map((e) => [e.image_name, e.status])).toEqual([
        ['buildkit-image-builder', 'Succeeded'],
        ['kubectl-1.23', 'Failed'],
        ['kubectl-main', 'Failed'],
        ['test-infra/ginkgo', 'Succeeded'],
      ]);
      expect(entries.find((e) => e.image_name === 'buildkit-image-builder')).toMatchObject({ pushed: true, signed: true });
    } finally {
      await writeFile(df, saved);
    }
  }, 120_000);

  test('bad input in images.builds: exit 2, one line, before any request', async () => {
    const yaml = join(repo.dir, 'berth.yaml');
    const saved = await readFile(yaml, 'utf8');
    proxy.log.length = 0;
    try {
      for (const [from, to, msg] of [
        ['dockerfile: cmd/image-builder/images/buildkit/Dockerfile', 'dockerfile: ../elsewhere/Dockerfile', 'berth: berth.yaml: images.builds.buildkit-image-builder: dockerfile ../elsewhere/Dockerfile is outside the repository'],
        ['dockerfile: cmd/image-builder/images/buildkit/Dockerfile', 'dockerfile: cmd/nope/Dockerfile', 'berth: berth.yaml: images.builds.buildkit-image-builder: dockerfile cmd/nope/Dockerfile: no such file'],
        ['      context: .\n      platforms: [linux/amd64, linux/arm64]', '      context: build/\n      platforms: [linux/amd64, linux/arm64]', 'berth: berth.yaml: images.builds.buildkit-image-builder: context build/: no such folder'],
      ] as const) {
        expect(saved).toContain(from);
        await writeFile(yaml, saved.replace(from, to));
        const r = await berth(['images', 'push', '--all'], await postsubmit());
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(msg);
      }
    } finally {
      await writeFile(yaml, saved);
    }
    expect(proxy.log).toEqual([]);
  });
});
