import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';
import { parsePlatform } from '../../src/oci/platform.js';
import { MediaType } from '../../src/oci/mediatype.js';
import { parseReleaseYaml, planRelease, planToJson, planToText, type ResolvedComponent } from '../../src/release/index.js';
import type { Image } from '../../src/transport/image.js';
import { readLocation } from '../../src/transport/location.js';
import { archTarball, PLATFORMS } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
const images: Record<string, Image> = {};
let dockerAmd64: Image;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-plan-'));
  await Promise.all(
    PLATFORMS.map(async (p) => {
      const a = await readLocation({ kind: 'tarball', path: await archTarball(dir, 'app', p) });
      if (a.kind !== 'image') throw new Error('want an image');
      images[p.platform] = a;
    }),
  );
  const d = await readLocation({ kind: 'tarball', path: await archTarball(join(dir), 'dockerapp', PLATFORMS[0]!, ['--format', 'docker']) });
  if (d.kind !== 'image') throw new Error('want an image');
  dockerAmd64 = d;
});
afterAll(() => cleanup());

const component = (name: string, platforms: string[], img = (p: string) => images[p]!): ResolvedComponent => ({
  name,
  where: `release.yaml:1: components.${name}`,
  sources: platforms.map((p) => ({ platform: parsePlatform(p), source: `${name}-${p}.tar`, where: `release.yaml:2: components.${name}.platforms.${p}`, image: img(p) })),
});
const ALL = PLATFORMS.map((p) => p.platform);

describe('planRelease (pure, no network)', () => {
  test('per repository: blobs, then every manifest by digest, then the index, then the tags', () => {
    const plan = planRelease({ components: [component('app', ALL)], tags: ['v1', 'latest'], destination: { kind: 'registries', registries: ['quay.io/jetstack', 'ghcr.io/acme'] }, archSuffixedRepos: false, format: 'oci' });
    const c = plan.components[0]!;
    expect(c.index.mediaType).toBe(MediaType.ociIndex);
    expect(c.targets.map((t) => t.repository)).toEqual(['quay.io/jetstack/app', 'ghcr.io/acme/app']);
    const kinds = c.targets[0]!.steps.map((s) => s.kind);
    expect(kinds).toEqual(['blobs', 'manifest', 'manifest', 'manifest', 'manifest', 'index', 'tag', 'tag']);
    const idx = JSON.parse(Buffer.from(c.index.raw).toString());
    // The canonical order (by os, architecture, variant), not the order given.
    expect(idx.manifests.map((m: { platform: unknown }) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'ppc64le' },
    ]);
    // The static base is shared: its blobs are listed once per repository.
    const blobs = c.targets[0]!.steps[0]!;
    expect(blobs.kind === 'blobs' && new Set(blobs.digests).size).toBe(blobs.kind === 'blobs' ? blobs.digests.length : -1);
    expect(c.images.every((i) => !i.converted && i.image.digest === i.sourceDigest)).toBe(true);
    const text = planToText(plan);
    expect(text).toContain('-> quay.io/jetstack/app: ');
    expect(JSON.parse(JSON.stringify(planToJson(plan))).components[0].targets[1].steps.at(-1)).toEqual({ kind: 'tag', tag: 'latest', digest: c.index.digest });
  });

  test('arch-suffixed repositories: NAME-ARCH:TAG per image, by the image digest', () => {
    const plan = planRelease({ components: [component('app', ALL)], tags: ['v1'], destination: { kind: 'registries', registries: ['quay.io/jetstack'] }, archSuffixedRepos: true, format: 'oci' });
    const t = plan.components[0]!.targets;
    expect(t.map((x) => x.repository)).toEqual(['quay.io/jetstack/app', 'quay.io/jetstack/app-amd64', 'quay.io/jetstack/app-arm', 'quay.io/jetstack/app-arm64', 'quay.io/jetstack/app-ppc64le']);
    expect(t[2]!.digest).toBe(images['linux/arm/v7']!.digest);
    expect(t[2]!.steps.map((s) => s.kind)).toEqual(['blobs', 'manifest', 'tag']);
  });

  test('--format docker: manifests converted, their new digests are what the index lists', () => {
    const plan = planRelease({ components: [component('app', ALL)], tags: ['v1'], destination: { kind: 'registries', registries: ['r.example/x'] }, archSuffixedRepos: false, format: 'docker' });
    const c = plan.components[0]!;
    expect(c.index.mediaType).toBe(MediaType.dockerManifestList);
    for (const i of c.images) {
      expect(i.converted).toBe(true);
      expect(i.image.digest).not.toBe(i.sourceDigest);
      expect(i.image.manifest.config.mediaType).toBe(MediaType.dockerConfig);
      expect(i.image.manifest.layers.every((l) => l.mediaType === MediaType.dockerLayerGzip)).toBe(true);
      expect(i.image.manifest.config.digest).toBe(images[i.source.replace(/^app-|\.tar$/g, '')]!.manifest.config.digest);
    }
    const listed = JSON.parse(Buffer.from(c.index.raw).toString()).manifests.map((m: { digest: string }) => m.digest);
    expect(listed).toEqual(c.images.map((i) => i.image.digest));
  });

  test('a Docker image in an OCI release is converted to OCI', () => {
    const plan = planRelease({ components: [component('app', ['linux/amd64'], () => dockerAmd64)], tags: [], destination: { kind: 'layout', dir: '/tmp/x' }, archSuffixedRepos: false, format: 'oci' });
    expect(plan.components[0]!.images[0]!.image.mediaType).toBe(MediaType.ociManifest);
    expect(plan.components[0]!.targets[0]!.steps.map((s) => s.kind)).toEqual(['blobs', 'manifest', 'index']);
  });

  test('bad input is refused by the plan: a platform mismatch, two sources for one platform, a bad tag', () => {
    const mismatch = component('app', ['linux/amd64']);
    mismatch.sources[0]!.image = images['linux/arm64']!;
    expect(() => planRelease({ components: [mismatch], tags: ['v1'], destination: { kind: 'layout', dir: '/x' }, archSuffixedRepos: false, format: 'oci' })).toThrow(
      'release.yaml:2: components.app.platforms.linux/amd64: app-linux/amd64.tar is an image for linux/arm64, not linux/amd64',
    );
    const twice: ResolvedComponent = { name: 'app', where: '--component app', sources: [0, 1].map((i) => ({ source: `a${i}.tar`, where: `--component app (a${i}.tar)`, image: images['linux/arm64']! })) };
    expect(() => planRelease({ components: [twice], tags: ['v1'], destination: { kind: 'layout', dir: '/x' }, archSuffixedRepos: false, format: 'oci' })).toThrow('--component app: two images for linux/arm64: a0.tar and a1.tar');
    expect(() => planRelease({ components: [component('app', ALL)], tags: ['v1+x'], destination: { kind: 'layout', dir: '/x' }, archSuffixedRepos: false, format: 'oci' })).toThrow(/tag "v1\+x" is not a valid tag/);
  });
});

describe('release.yaml', () => {
  test('the issue\'s example parses', async () => {
    const spec = await parseReleaseYaml(
      [
        'registries: [quay.io/jetstack, ghcr.io/acme]',
        'tags: ["{{ .Version }}", "v{{ .Date }}-{{ .ShortSHA }}"]',
        'arch-suffixed-repos: true',
        'format: docker',
        'components:',
        '  cert-manager-controller:',
        '    platforms:',
        '      linux/amd64: bazel-bin/build/controller-amd64.tar',
        '      linux/arm/v7: bazel-bin/build/controller-arm.tar',
        '  hostpath-provisioner:',
        '    platforms:',
        '      linux/amd64: docker://quay.io/kubevirt/hostpath-provisioner:v0.10.0',
      ].join('\n'),
      'release.yaml',
    );
    expect(spec.registries).toEqual(['quay.io/jetstack', 'ghcr.io/acme']);
    expect(spec.archSuffixedRepos).toBe(true);
    expect(spec.format).toBe('docker');
    expect(spec.components.map((c) => c.name)).toEqual(['cert-manager-controller', 'hostpath-provisioner']);
    expect(spec.components[0]!.sources[1]).toEqual({ platform: { os: 'linux', architecture: 'arm', variant: 'v7' }, source: 'bazel-bin/build/controller-arm.tar', where: 'release.yaml:9: components.cert-manager-controller.platforms.linux/arm/v7' });
  });

  test.each([
    ['components:\n  app:\n    platform:\n      linux/amd64: a.tar\n', 'release.yaml:3: components.app.platform: unknown key (known here: platforms)'],
    ['registry: quay.io/x\n', 'release.yaml:1: registry: unknown key (known here: registries, tags, arch-suffixed-repos, format, components)'],
    ['components:\n  app:\n    platforms:\n      linux/amd65: a.tar\n', 'release.yaml:4: components.app.platforms.linux/amd65: unknown architecture "amd65"'],
    ['tags: ["v1+x"]\ncomponents:\n  app:\n    platforms:\n      linux/amd64: a.tar\n', 'release.yaml:1: tags[0]: "v1+x" is not a valid tag'],
    ['format: zip\n', 'release.yaml:1: format: want one of oci, docker, found the string "zip"'],
    ['components:\n  App:\n    platforms:\n      linux/amd64: a.tar\n', 'release.yaml:2: components.App: "App" is not a repository name'],
  ])('%j is refused naming file, line and key', async (text, message) => {
    await expect(parseReleaseYaml(text, 'release.yaml')).rejects.toThrow(message);
  });

  test('release --dry-run --json prints the plan from flags, touching nothing', async () => {
    const layout = join(dir, 'never');
    const r = await berth(['release', '--component', `app=${dir}/app-*.tar`, '--tag', 'v1', '--to', `oci:${layout}`, '--dry-run', '--json']);
    expect(r.stderr).toContain('component app: index sha256:');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.components[0].images.map((i: { platform: string }) => i.platform)).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le']);
    expect(plan.components[0].targets[0].repository).toBe(`oci:${layout}`);
    expect(existsSync(layout)).toBe(false);
  });
});
