import { describe, expect, test } from '@jest/globals';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import { checkAmbiguity, namedPlatforms, sourceFiles, sourceFor } from '../../src/folders/sources.js';
import { signatureNotes } from '../../src/folders/folder-report.js';
import { buildOrder, dependants } from '../../src/folders/graph.js';
import { jobType } from '../../src/folders/job-type.js';
import { parseImageSource } from '../../src/folders/image-source.js';
import { parseVariants } from '../../src/folders/variants.js';
import { contentHash, contentHashTag, type HashInputs } from '../../src/folders/content-hash.js';
import { chooseTargets, renderImageTags } from '../../src/folders/targets.js';
import { imagesBuilder } from '../../src/folders/build-folder.js';
import type { PlannedImage } from '../../src/folders/folder-plan.js';
import { parseReference } from '../../src/oci/reference.js';
import { memImage } from './mem-image.js';

const p = (s: string) => parsePlatform(s);

describe('sources per platform', () => {
  const names = ['Dockerfile', 'Dockerfile.aarch64', 'ImageSource.x86_64', 'Dockerfile.dockerignore', 'main.go', 'Dockerfile.arm'];
  const sources = sourceFiles('app', names);

  test('the most specific file wins, in either spelling of the arch', () => {
    expect(sourceFor('app', sources, p('linux/arm64')).file).toBe('Dockerfile.aarch64');
    expect(sourceFor('app', sources, p('linux/amd64'))).toMatchObject({ kind: 'image-source', file: 'ImageSource.x86_64' });
    expect(sourceFor('app', sources, p('linux/arm/v7')).file).toBe('Dockerfile.arm');
    expect(sourceFor('app', sources, p('linux/s390x')).file).toBe('Dockerfile');
  });

  test('named platforms are the .<arch> files, sorted; the ignore file is none', () => {
    expect(namedPlatforms(sources).map((x) => `${x.os}/${x.architecture}${x.variant ? `/${x.variant}` : ''}`)).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64']);
  });

  test('no source for a platform is one line naming the image, the platform and the fix', () => {
    const only = sourceFiles('side', ['Dockerfile.amd64']);
    expect(() => sourceFor('side', only, p('linux/arm64'))).toThrow('side: nothing builds linux/arm64: add Dockerfile.arm64 or ImageSource.arm64, or a general Dockerfile (it has Dockerfile.amd64)');
  });

  test('two sources at one level are ambiguous', () => {
    const both = sourceFiles('x', ['Dockerfile.arm64', 'ImageSource.aarch64']);
    expect(() => sourceFor('x', both, p('linux/arm64'))).toThrow('x: both Dockerfile.arm64 and ImageSource.aarch64 apply to linux/arm64; keep one');
  });

  test('an unknown arch suffix is refused with the file named', () => {
    expect(() => sourceFiles('x', ['Dockerfile.sparc'])).toThrow(/x\/Dockerfile\.sparc: unknown architecture "sparc"/);
  });
});

describe('build order', () => {
  const deps = new Map([
    ['app', ['base']],
    ['base', []],
    ['tool', ['base', 'app']],
  ]);
  test('dependencies first, otherwise by name', () => {
    expect(buildOrder(['tool'], deps)).toEqual(['base', 'app', 'tool']);
    expect(buildOrder(['base', 'tool', 'app'], deps)).toEqual(['base', 'app', 'tool']);
  });
  test('what a change invalidates', () => {
    expect(dependants('base', deps)).toEqual(['app', 'tool']);
    expect(dependants('tool', deps)).toEqual([]);
  });
  test('a cycle names its loop', () => {
    const cyc = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
    ]);
    expect(() => buildOrder(['a'], cyc)).toThrow('images a -> b -> c -> a are built FROM each other in a cycle; break it');
  });
});

describe('job type', () => {
  test.each([
    [{ JOB_TYPE: 'presubmit' }, 'presubmit'],
    [{ JOB_TYPE: 'postsubmit' }, 'postsubmit'],
    [{ GITHUB_EVENT_NAME: 'pull_request_target' }, 'presubmit'],
    [{ GITHUB_EVENT_NAME: 'merge_group' }, 'presubmit'],
    [{ GITHUB_EVENT_NAME: 'schedule' }, 'postsubmit'],
    [{ GITHUB_EVENT_NAME: 'workflow_dispatch' }, 'postsubmit'],
    [{ GITHUB_EVENT_NAME: 'push' }, 'postsubmit'],
    [{ GITHUB_EVENT_NAME: 'issue_comment' }, undefined],
    [{}, undefined],
  ])('%j -> %s', (env, want) => expect(jobType(env)).toBe(want));
  test('--job-type overrides and is checked', () => {
    expect(jobType({ JOB_TYPE: 'presubmit' }, 'postsubmit')).toBe('postsubmit');
    expect(() => jobType({}, 'nightly')).toThrow('--job-type: "nightly" is not a job type (presubmit or postsubmit)');
  });
});

describe('ImageSource', () => {
  test('one reference among comments', () => {
    const ref = parseImageSource('# upstream\n\nquay.io/org/img@sha256:' + 'a'.repeat(64) + '  # pinned\n', 'c/ImageSource');
    expect(ref).toMatchObject({ registry: 'quay.io', repository: 'org/img', digest: 'sha256:' + 'a'.repeat(64) });
  });
  test.each([
    ['', 'c/ImageSource: empty; write one image reference'],
    ['a:1\nb:2\n', 'c/ImageSource:2: more than one image reference'],
    ['not a reference', 'c/ImageSource:1: '],
  ])('%j is refused', (text, msg) => expect(() => parseImageSource(text, 'c/ImageSource')).toThrow(msg));
});

describe('variants.yaml', () => {
  test('variants sorted, values as text', async () => {
    const v = await parseVariants('fips:\n  GO_VERSION: 1.22\n  X: "y"\nmain:\n  GO_VERSION: 1.21\n', 'v.yaml');
    expect(v).toEqual([
      { name: 'fips', buildArgs: { GO_VERSION: '1.22', X: 'y' } },
      { name: 'main', buildArgs: { GO_VERSION: '1.21' } },
    ]);
  });
  test.each([
    ['bad name:\n  A: b\n', 'v.yaml:1: bad name: "bad name" cannot be a tag suffix'],
    ['ok:\n  1A: b\n', 'v.yaml:2: ok.1A: "1A" is not a build argument name'],
    ['ok: [1]\n', 'v.yaml:1: ok: want a mapping'],
  ])('%j is refused', async (text, msg) => {
    await expect(parseVariants(text, 'v.yaml')).rejects.toThrow(msg);
  });
});

describe('content hash', () => {
  const base: HashInputs = {
    files: [
      { path: 'Dockerfile', kind: 'file', mode: 0o644, content: 'a'.repeat(64) },
      { path: 'bin', kind: 'dir', mode: 0o755 },
      { path: 'bin/x', kind: 'symlink', mode: 0o777, content: '../y' },
    ],
    buildArgs: { A: '1', B: '2' },
    localBases: { base: 'f'.repeat(64) },
    imageSources: {},
  };
  const h = contentHash(base);
  test('order of files and keys does not matter', () => {
    expect(contentHash({ ...base, files: [...base.files].reverse(), buildArgs: { B: '2', A: '1' } })).toBe(h);
  });
  test.each<[string, Partial<HashInputs>]>([
    ['a byte', { files: [{ ...base.files[0]!, content: 'b'.repeat(64) }, ...base.files.slice(1)] }],
    ['a mode', { files: [{ ...base.files[0]!, mode: 0o755 }, ...base.files.slice(1)] }],
    ['a path', { files: [{ ...base.files[0]!, path: 'Dockerfile2' }, ...base.files.slice(1)] }],
    ['a link target', { files: [...base.files.slice(0, 2), { ...base.files[2]!, content: '../z' }] }],
    ['a build arg', { buildArgs: { A: '1', B: '3' } }],
    ['the variant', { variant: 'fips' }],
    ['a local base', { localBases: { base: 'e'.repeat(64) } }],
    ['an ImageSource digest', { imageSources: { ImageSource: 'sha256:' + '1'.repeat(64) } }],
  ])('changing %s changes it', (_what, change) => {
    expect(contentHash({ ...base, ...change })).not.toBe(h);
  });
  test('is sha256 of one canonical JSON text: format version, files by path, then each map by key', async () => {
    const { createHash } = await import('node:crypto');
    const canonical = JSON.stringify([
      'berth-images/2',
      [['Dockerfile', 'file', 0o644, 'a'.repeat(64)], ['bin', 'dir', 0o755, ''], ['bin/x', 'symlink', 0o777, '../y']],
      [],
      [['A', '1'], ['B', '2']],
      '',
      [['base', 'f'.repeat(64)]],
      [],
    ]);
    expect(h).toBe(createHash('sha256').update(canonical).digest('hex'));
    // The tag users see for these inputs: a change here re-tags every image (bump BUILD_FORMAT_VERSION instead).
    expect(h).toBe('66049dc81c45f364b7aa3dc22c0ce87f2544d7ebfc118386d9dd4b22889caa5f');
    const full = { ...base, variant: 'fips', dockerfiles: { 'b.Dockerfile': 'd'.repeat(64), 'a.Dockerfile': 'c'.repeat(64) }, imageSources: { 'ImageSource.arm64': 'sha256:2', ImageSource: 'sha256:1' } };
    const fullText = JSON.stringify([
      'berth-images/2',
      [['Dockerfile', 'file', 0o644, 'a'.repeat(64)], ['bin', 'dir', 0o755, ''], ['bin/x', 'symlink', 0o777, '../y']],
      [['a.Dockerfile', 'c'.repeat(64)], ['b.Dockerfile', 'd'.repeat(64)]],
      [['A', '1'], ['B', '2']],
      'fips',
      [['base', 'f'.repeat(64)]],
      [['ImageSource', 'sha256:1'], ['ImageSource.arm64', 'sha256:2']],
    ]);
    expect(contentHash(full)).toBe(createHash('sha256').update(fullText).digest('hex'));
  });

  test('any order of many files and keys gives one hash', () => {
    const files = Array.from({ length: 12 }, (_, i) => ({ path: `f/${String.fromCharCode(97 + ((i * 7) % 12))}`, kind: 'file' as const, mode: 0o644, content: String(i) }));
    const args = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`K${(i * 5) % 9}`, String(i)]));
    const one = contentHash({ ...base, files, buildArgs: args, localBases: { b: '1', a: '2', c: '3' } });
    for (let r = 1; r < 12; r++) {
      const rotated = [...files.slice(r), ...files.slice(0, r)];
      const keys = Object.entries(args);
      const argsRotated = Object.fromEntries([...keys.slice(r % 9), ...keys.slice(0, r % 9)]);
      expect(contentHash({ ...base, files: r % 2 ? rotated.reverse() : rotated, buildArgs: argsRotated, localBases: { c: '3', a: '2', b: '1' } })).toBe(one);
    }
  });

  test('the tag is 16 hex digits, suffixed by a variant', () => {
    expect(contentHashTag(h)).toMatch(/^[0-9a-f]{16}$/);
    expect(contentHashTag(h, 'fips')).toBe(`${h.slice(0, 16)}-fips`);
  });
});

describe('registries and tags for a push', () => {
  const config = { registry: 'reg.example/images', registries: { presubmit: ['dev.example/img'], postsubmit: ['prod.example/img', 'mirror.example/img'], restricted: { presubmit: ['secret.example/img-dev'], postsubmit: ['secret.example/img'] } } };
  test.each<[Parameters<typeof chooseTargets>[0], string[], string]>([
    [{ config, flags: [], jobType: 'presubmit', restricted: false }, ['dev.example/img'], 'images.registries.presubmit (a presubmit job)'],
    [{ config, flags: [], jobType: 'postsubmit', restricted: false }, ['prod.example/img', 'mirror.example/img'], 'images.registries.postsubmit (a postsubmit job)'],
    [{ config, flags: [], jobType: 'postsubmit', restricted: true }, ['secret.example/img'], 'images.registries.restricted.postsubmit (--restricted)'],
    // A pull request never writes into the restricted production repository.
    [{ config, flags: [], jobType: 'presubmit', restricted: true }, ['secret.example/img-dev'], 'images.registries.restricted.presubmit (--restricted)'],
    [{ config: { registries: { restricted: { presubmit: ['r.example/x'], postsubmit: ['r.example/x'] } } }, flags: [], restricted: true }, ['r.example/x'], 'images.registries.restricted (--restricted)'],
    [{ config, flags: ['x.example/y'], jobType: 'postsubmit', restricted: false }, ['x.example/y'], '--registry'],
    [{ config: { registry: 'reg.example/images' }, flags: [], restricted: false }, ['reg.example/images'], 'images.registry'],
  ])('%j', (input, registries, reason) => {
    expect(chooseTargets(input)).toMatchObject({ registries, reason });
  });
  test('job-type registries outside CI need a choice', () => {
    expect(() => chooseTargets({ config: { registries: { presubmit: ['d.example/x'] } }, flags: [], restricted: false })).toThrow('not in CI (no JOB_TYPE or GITHUB_EVENT_NAME), so no job-type registry applies');
  });
  const ctx = { ci: { system: 'prow' as const, event: 'pull_request' as const }, commit: '0123456789abcdef', commitTime: 1_700_000_000, prNumber: '42', repoTags: [], warnings: [] };
  test('user tags render with the content hash; the default tag joins when job-type registries exist', () => {
    expect(renderImageTags(['h-{{ .ContentHash }}', 'stable'], ctx, {}, 'abcd1234abcd1234', true, 'presubmit')).toEqual(['h-abcd1234abcd1234', 'stable', 'pr-42']);
    expect(renderImageTags([], { ...ctx, prNumber: undefined }, {}, 'x', true, 'postsubmit')).toEqual(['v20231114-01234567']);
    expect(renderImageTags(['a'], ctx, {}, 'x', false)).toEqual(['a']);
  });
  test('a template with no value is an error naming it', () => {
    expect(() => renderImageTags(['{{ .Env "NOPE" }}'], ctx, {}, 'x', false)).toThrow('--tag "{{ .Env "NOPE" }}": $NOPE has no value here');
  });
});

describe('folder hashing', () => {
  test('lists folders, links and files (not sockets or FIFOs), asks the filter with the folder flag, and walks into a left-out folder only when told', async () => {
    const { mkdtemp, rm, writeFile, mkdir, symlink, chmod } = await import('node:fs/promises');
    const { execFileSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createHash } = await import('node:crypto');
    const { folderFiles } = await import('../../src/folders/folder-files.js');
    const dir = await mkdtemp(join(tmpdir(), 'berth-files-'));
    try {
      await mkdir(join(dir, 'out/keep'), { recursive: true });
      await writeFile(join(dir, 'out/keep/k'), 'k');
      await writeFile(join(dir, 'out/junk'), 'j');
      await writeFile(join(dir, 'b.txt'), 'bee');
      await chmod(join(dir, 'b.txt'), 0o640);
      await chmod(join(dir, 'out/keep'), 0o750);
      await chmod(join(dir, 'out/keep/k'), 0o644);
      await symlink('b.txt', join(dir, 'a-link'));
      execFileSync('mkfifo', [join(dir, 'pipe')]);
      const asked: [string, boolean][] = [];
      const excluded = (rel: string, isDir: boolean) => {
        asked.push([rel, isDir]);
        return rel === 'out' || rel === 'out/junk';
      };
      const sha = (t: string) => createHash('sha256').update(t).digest('hex');
      expect(await folderFiles(dir, { excluded })).toEqual([
        { path: 'a-link', kind: 'symlink', mode: 0o777, content: 'b.txt' },
        { path: 'b.txt', kind: 'file', mode: 0o640, content: sha('bee') },
        { path: 'out/keep', kind: 'dir', mode: 0o750 },
        { path: 'out/keep/k', kind: 'file', mode: 0o644, content: sha('k') },
      ]);
      expect(asked).toEqual([['a-link', false], ['b.txt', false], ['out', true], ['out/junk', false], ['out/keep', true], ['out/keep/k', false]]);
      expect((await folderFiles(dir, { excluded, descendExcluded: false })).map((f) => f.path)).toEqual(['a-link', 'b.txt']);
      expect((await folderFiles(dir)).map((f) => f.path)).toEqual(['a-link', 'b.txt', 'out', 'out/junk', 'out/keep', 'out/keep/k']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });


  test('a folder large enough for worker threads hashes each file as sha256 of its bytes, the same as a small one', async () => {
    const { mkdtemp, rm, writeFile, mkdir } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createHash, randomBytes } = await import('node:crypto');
    const { folderFiles } = await import('../../src/folders/folder-files.js');
    const dir = await mkdtemp(join(tmpdir(), 'berth-hash-'));
    try {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 5; i++) files[`big${i}.bin`] = randomBytes((14 << 20) + i * 4099);
      files['sub/small'] = Buffer.from('small\n');
      files['empty'] = Buffer.alloc(0);
      await mkdir(join(dir, 'sub'));
      for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      const expected = Object.entries(files).map(([path, b]) => ({ path, content: sha(b) }));
      // The worker threads end with the call (each is an OS thread of this process).
      const { readdirSync } = await import('node:fs');
      const threads = () => readdirSync('/proc/self/task').length;
      await folderFiles(join(dir, 'sub')); // warm up: the file-system thread pool
      const before = threads();
      const big = await folderFiles(dir);
      expect(threads()).toBeLessThanOrEqual(before);
      expect(big.filter((f) => f.kind === 'file').map((f) => ({ path: f.path, content: f.content })).sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual(expected.sort((a, b) => (a.path < b.path ? -1 : 1)));
      // Below the threshold (on the main thread) the same files hash the same.
      for (let i = 1; i < 5; i++) await rm(join(dir, `big${i}.bin`));
      const small = await folderFiles(dir);
      expect(small.find((f) => f.path === 'big0.bin')!.content).toBe(big.find((f) => f.path === 'big0.bin')!.content);
      await rm(join(dir, 'sub/small'));
      await expect(folderFiles(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an ImageSource platform is the image it names, never built', () => {
  test('the builder gives the taken image and says it was taken; nothing is read from the (missing) folder', async () => {
    const image = memImage('linux/amd64', 'taken');
    const ref = parseReference('registry.example/src/base@' + image.digest);
    const planned: PlannedImage = {
      name: 'tk',
      wanted: true,
      folder: { name: 'tk', dir: '/nonexistent/tk', context: '/nonexistent/tk', sources: [{ kind: 'image-source', file: 'ImageSource' }], variants: [] },
      hash: '0'.repeat(64),
      tag: 'h',
      buildArgs: {},
      deps: [],
      aliases: {},
      platforms: [{ platform: p('linux/amd64'), source: { kind: 'image-source', file: 'ImageSource' }, taken: { ref, image } }],
      notes: [],
      resolved: [],
    };
    const { build, origins } = imagesBuilder({ images: [planned], wanted: ['tk'] }, {
      engine: 'buildah', format: 'oci', compressionLevel: 6, epoch: 0, registry: {}, jobs: 1, log: () => {}, work: '/nonexistent/work', cacheDir: '/nonexistent/cache',
    });
    const got = await build(planned, planned.platforms);
    expect(got.map((i) => i.digest)).toEqual([image.digest]);
    expect(Object.fromEntries(origins)).toEqual({ 'tk@linux/amd64': 'taken' });
  });
});

/** The error a call throws (it must throw): its class, code and one-line message are what the user sees (exit 2). */
const thrown = (f: () => unknown): { message: string; code?: string; exitCode?: number; cause?: { code?: string } } => {
  try {
    f();
  } catch (err) {
    return err as { message: string; code?: string; exitCode?: number };
  }
  throw new Error('did not throw');
};

describe('registries for a push: the edges', () => {
  const only = (registries: NonNullable<Parameters<typeof chooseTargets>[0]['config']['registries']>) => ({ registries });
  test('the default tag joins only where job-type registries are configured (either list)', () => {
    expect(chooseTargets({ config: { registry: 'reg.example/a' }, flags: [], restricted: false }).defaultTag).toBe(false);
    expect(chooseTargets({ config: { registry: 'reg.example/a' }, flags: ['x.example/y'], restricted: false }).defaultTag).toBe(false);
    expect(chooseTargets({ config: only({ postsubmit: ['p.example/a'] }), flags: [], jobType: 'postsubmit', restricted: false }).defaultTag).toBe(true);
    expect(chooseTargets({ config: only({ presubmit: ['d.example/a'] }), flags: [], jobType: 'presubmit', restricted: false }).defaultTag).toBe(true);
  });
  test('a job type with no list of its own falls back to images.registry, else to no registry', () => {
    const config = { registry: 'reg.example/a', registries: { postsubmit: ['p.example/a'] } };
    expect(chooseTargets({ config, flags: [], jobType: 'presubmit', restricted: false })).toEqual({ registries: ['reg.example/a'], reason: 'images.registry', defaultTag: true });
    expect(chooseTargets({ config: only({ postsubmit: ['p.example/a'], presubmit: [] }), flags: [], jobType: 'presubmit', restricted: false })).toEqual({ registries: [], reason: 'none', defaultTag: true });
    expect(chooseTargets({ config: {}, flags: [], restricted: false })).toEqual({ registries: [], reason: 'none', defaultTag: false });
  });
  test('outside CI with job-type registries only: a usage error (exit 2)', () => {
    const e = thrown(() => chooseTargets({ config: only({ postsubmit: ['p.example/a'] }), flags: [], restricted: false }));
    expect([e.code, e.exitCode]).toEqual(['BAD_FLAG', 2]);
  });
  test('--restricted uses the list of the job type, even when only one list is configured', () => {
    expect(chooseTargets({ config: only({ restricted: { postsubmit: ['s.example/p'] } }), flags: [], jobType: 'postsubmit', restricted: true }).registries).toEqual(['s.example/p']);
    expect(chooseTargets({ config: only({ restricted: { presubmit: ['s.example/d'] } }), flags: [], jobType: 'presubmit', restricted: true }).registries).toEqual(['s.example/d']);
    // One list for both job types: the reason does not name the job type.
    expect(chooseTargets({ config: only({ restricted: { presubmit: ['s.example/x'], postsubmit: ['s.example/x'] } }), flags: [], jobType: 'postsubmit', restricted: true }).reason).toBe('images.registries.restricted (--restricted)');
  });
  test.each<[string, Parameters<typeof chooseTargets>[0], string]>([
    ['no restricted list at all', { config: only({ presubmit: ['d.example/a'] }), flags: [], jobType: 'presubmit', restricted: true }, '--restricted: berth.yaml names no images.registries.restricted'],
    ['none for this job type', { config: only({ restricted: { postsubmit: ['s.example/p'] } }), flags: [], jobType: 'presubmit', restricted: true }, '--restricted: berth.yaml names no images.registries.restricted.presubmit'],
    ['two lists and no job type', { config: only({ restricted: { presubmit: ['s.example/d'], postsubmit: ['s.example/p'] } }), flags: [], restricted: true }, '--restricted: not in CI (no JOB_TYPE or GITHUB_EVENT_NAME), so neither restricted list applies: give --job-type presubmit|postsubmit'],
  ])('--restricted with %s is refused, one line', (_what, input, message) => {
    const e = thrown(() => chooseTargets(input));
    expect([e.message, e.code, e.exitCode]).toEqual([message, 'BAD_FLAG', 2]);
  });

  const ctx = { ci: { system: 'prow' as const, event: 'pull_request' as const }, commit: '0123456789abcdef', commitTime: 1_700_000_000, prNumber: '42', repoTags: [], warnings: [] };
  test('the default tag is pr-<N> for a pull request, whatever the job type says', () => {
    expect(renderImageTags([], ctx, {}, 'x', true)).toEqual(['pr-42']);
    expect(renderImageTags([], ctx, {}, 'x', true, 'postsubmit')).toEqual(['pr-42']);
  });
  test('a presubmit job with no pull request number cannot make its default tag: the error names it', () => {
    const e = thrown(() => renderImageTags([], { ...ctx, prNumber: undefined }, {}, 'x', true, 'presubmit'));
    expect([e.message, e.code, e.exitCode]).toEqual(['the job\'s default tag "default=pr-{{ .PRNumber }}": .PRNumber has no value here', 'BAD_TEMPLATE', 2]);
  });
  test('every value a tag lacks is named', () => {
    const e = thrown(() => renderImageTags(['{{ .Env "A" }}-{{ .Env "B" }}'], ctx, {}, 'x', false));
    expect([e.message, e.code]).toEqual(['--tag "{{ .Env "A" }}-{{ .Env "B" }}": $A, $B has no value here', 'BAD_TEMPLATE']);
  });
});

describe('sources: the edges', () => {
  test('two sources at one level, found before any request, name the level', () => {
    const general = thrown(() => checkAmbiguity('x', sourceFiles('x', ['Dockerfile', 'ImageSource', 'main.go'])));
    expect([general.message, general.code, general.exitCode]).toEqual(['x: both Dockerfile and ImageSource apply to every platform; keep one', 'BAD_IMAGE_FOLDER', 2]);
    const arch = thrown(() => checkAmbiguity('x', sourceFiles('x', ['Dockerfile', 'Dockerfile.arm64', 'ImageSource.aarch64'])));
    expect(arch.message).toBe('x: both Dockerfile.arm64 and ImageSource.aarch64 apply to linux/arm64; keep one');
    expect(() => checkAmbiguity('x', sourceFiles('x', ['Dockerfile', 'ImageSource.amd64', 'Dockerfile.arm64', 'Dockerfile.arm']))).not.toThrow();
  });
  test('sourceFor errors are usage errors; an empty folder says it has no source', () => {
    const none = thrown(() => sourceFor('e', [], p('linux/amd64')));
    expect([none.message, none.code, none.exitCode]).toEqual(['e: nothing builds linux/amd64: add Dockerfile.amd64 or ImageSource.amd64, or a general Dockerfile (it has no Dockerfile or ImageSource)', 'BAD_IMAGE_FOLDER', 2]);
    expect(thrown(() => sourceFor('x', sourceFiles('x', ['Dockerfile.arm64', 'ImageSource.aarch64']), p('linux/arm64'))).code).toBe('BAD_IMAGE_FOLDER');
  });
  test('a per-arch ignore file is not a platform; bare arm is arm/v7; the names given are left as they were', () => {
    const names = ['main.go', 'Dockerfile.arm64.dockerignore', 'Dockerfile.arm64', 'Dockerfile.arm', 'Dockerfile'];
    const got = sourceFiles('x', names);
    expect(got.map((s) => [s.file, s.platform ? formatPlatform(s.platform) : ''])).toEqual([['Dockerfile', ''], ['Dockerfile.arm', 'linux/arm/v7'], ['Dockerfile.arm64', 'linux/arm64']]);
    expect(got[1]!.platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(names).toEqual(['main.go', 'Dockerfile.arm64.dockerignore', 'Dockerfile.arm64', 'Dockerfile.arm', 'Dockerfile']);
  });
});

describe('build order: the edges', () => {
  test('a cycle below the image asked for names only the loop, as a usage error', () => {
    const deps = new Map([
      ['top', ['a']],
      ['a', ['b']],
      ['b', ['a']],
    ]);
    const e = thrown(() => buildOrder(['top'], deps));
    expect([e.message, e.code, e.exitCode]).toEqual(['images a -> b -> a are built FROM each other in a cycle; break it', 'BAD_IMAGE_FOLDER', 2]);
  });
  test('the lists given are not reordered', () => {
    const wanted = Object.freeze(['tool', 'app']);
    const deps = new Map<string, readonly string[]>([
      ['tool', Object.freeze(['base', 'app'])],
      ['app', Object.freeze(['base'])],
    ]);
    expect(buildOrder(wanted, deps)).toEqual(['base', 'app', 'tool']);
  });
  test('dependants through others, whatever order the images are listed in, sorted by name', () => {
    const deps = new Map([
      ['zed', ['mid']],
      ['mid', ['base']],
      ['alpha', ['base']],
      ['base', []],
    ]);
    expect(dependants('base', deps)).toEqual(['alpha', 'mid', 'zed']);
    expect(dependants('mid', deps)).toEqual(['zed']);
  });
});

describe('signature notes in the report lines', () => {
  const rec = (signer: string, type: string, status: 'added' | 'present' | 'skipped') => ({ signer, type, status, where: 'w' });
  test('each signer once (skipped ones left out), then each attestation', () => {
    const c = {
      signatures: [
        { signatures: [rec('key', 'cosign-key', 'added'), rec('kms', 'cosign-kms', 'skipped')] },
        { signatures: [rec('key', 'cosign-key', 'present'), rec('svc', 'notary', 'added')] },
      ],
      attestations: [{ signers: ['key', 'svc'], attestationTag: 'reg.example/app:sha256-ab.att' }],
    } as unknown as Parameters<typeof signatureNotes>[0];
    expect(signatureNotes(c)).toEqual(['signed by key (cosign-key), svc (notary)', 'SLSA provenance signed by key, svc -> reg.example/app:sha256-ab.att']);
  });
  test('no signature: no "signed by" note; nothing: no notes', () => {
    const c = { attestations: [{ signers: ['key'], attestationTag: 't.att' }] } as unknown as Parameters<typeof signatureNotes>[0];
    expect(signatureNotes(c)).toEqual(['SLSA provenance signed by key -> t.att']);
    expect(signatureNotes({ signatures: [{ signatures: [rec('kms', 'cosign-kms', 'skipped')] }] } as unknown as Parameters<typeof signatureNotes>[0])).toEqual([]);
    expect(signatureNotes({})).toEqual([]);
  });
});

describe('ImageSource: the edges', () => {
  const digest = 'quay.io/org/img@sha256:' + 'a'.repeat(64);
  test('a file with CRLF line ends and comments reads the same', () => {
    expect(parseImageSource(`# upstream\r\n${digest}  # pinned\r\n`, 'c/ImageSource')).toMatchObject({ registry: 'quay.io', repository: 'org/img', digest: 'sha256:' + 'a'.repeat(64) });
  });
  test('its errors are usage errors; a bad reference keeps the reference error as the cause', () => {
    expect(thrown(() => parseImageSource('# nothing\n', 'c/ImageSource')).code).toBe('BAD_IMAGE_FOLDER');
    expect(thrown(() => parseImageSource('a:1\nb:2\n', 'c/ImageSource')).code).toBe('BAD_IMAGE_FOLDER');
    const bad = thrown(() => parseImageSource('\nNOT a reference\n', 'c/ImageSource'));
    expect([bad.code, bad.exitCode]).toEqual(['BAD_IMAGE_FOLDER', 2]);
    expect(bad.message).toMatch(/^c\/ImageSource:2: /);
    expect(bad.cause?.code).toBe('BAD_REFERENCE');
  });
});

describe('variants.yaml: order', () => {
  test('variants come back by name, whatever the file order', async () => {
    expect((await parseVariants('zeta: {}\nalpha: {}\nmid:\n  A: b\n', 'v.yaml')).map((v) => v.name)).toEqual(['alpha', 'mid', 'zeta']);
  });
});
