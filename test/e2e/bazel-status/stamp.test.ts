/**
 * Real Bazel (Debian's bazel-bootstrap) reads berth's workspace status: a build of a small
 * stamped rule, in a temporary copy of this workspace that is a git repository, shows every
 * key in bazel-out/stable-status.txt and in the rule's output; after a commit and with an
 * override set, the next build shows the new values.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bazelWorkspace, type BazelWorkspace } from '../../helpers/bazel.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { parseStatusFile } from '../../../src/status/labels.js';
import { TestRepo } from '../../status/git-repo.js';

let ws: BazelWorkspace;
let repo: TestRepo;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'lean', 'status.cjs'))) throw new Error('dist/lean/status.cjs is missing: run npm run build first');
  ws = await bazelWorkspace({
    copy: ['WORKSPACE', 'BUILD.bazel', '.bazelrc', 'build', 'hack/build/print-workspace-status.sh', 'dist/lean/status.cjs', 'dist/lean/yaml.cjs'],
    // bazel-* are Bazel's output links: a checkout must ignore them or every build is dirty
    files: { '.gitignore': '/bazel-*\n', 'berth.yaml': 'registry: ghcr.io/acme\n' },
  });
  repo = await TestRepo.init(ws.dir);
  await repo.commit();
  await repo.tag('v1.2.3', { annotated: true });
});

afterAll(async () => {
  await ws?.close();
});

test('a stamped build sees every key, and sees them change', async () => {
  const commit = await repo.head();
  await ws.build(['//build/testing:stamp_example'], { flags: ['--stamp'] });
  const stable = parseStatusFile(await ws.read('bazel-out/stable-status.txt'));
  expect(Object.fromEntries([...stable].filter(([k]) => k.startsWith('STABLE_')))).toEqual({
    STABLE_DOCKER_REGISTRY: 'ghcr.io/acme',
    STABLE_DOCKER_PUSH_REGISTRY: 'ghcr.io/acme',
    STABLE_DOCKER_TAG: 'v1.2.3',
    STABLE_RELEASE_VERSION: 'v1.2.3',
    STABLE_BUILD_GIT_COMMIT: commit,
    STABLE_BUILD_SCM_STATUS: 'clean',
    STABLE_BUILD_SCM_REVISION: 'v1.2.3',
    STABLE_BUILD_MAJOR_VERSION: '1',
    STABLE_BUILD_MINOR_VERSION: '2',
    STABLE_LAST_COMMIT_YEAR: '2024',
    STABLE_BUILD_SCM_TIMESTAMP: String(TestRepo.epochOf(1)),
  });
  const volatile = parseStatusFile(await ws.read('bazel-out/volatile-status.txt'));
  expect(volatile.get('gitVersion')).toBe('v1.2.3');
  expect(volatile.get('gitTreeState')).toBe('clean');
  expect(volatile.get('buildDate')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(await ws.read('bazel-bin/build/testing/stamp_example.txt')).toBe(
    [
      'name=ghcr.io/acme/server:v1.2.3',
      'push=ghcr.io/acme',
      'version=v1.2.3',
      'revision=v1.2.3',
      `commit=${commit}`,
      'tree=clean',
      'major=1',
      'minor=2',
      'year=2024',
      'gitVersion=v1.2.3',
      '',
    ].join('\n'),
  );

  // A new commit and an override: the status command's cache misses and Bazel restamps.
  const next = await repo.commit();
  await ws.build(['//build/testing:stamp_example'], { flags: ['--stamp'], env: { DOCKER_REGISTRY: 'registry.example.com/team' } });
  const version = `v1.2.3-1+${next.slice(0, 14)}`;
  const out = await ws.read('bazel-bin/build/testing/stamp_example.txt');
  expect(out).toContain(`name=registry.example.com/team/server:v1.2.3-1-${next.slice(0, 14)}\n`);
  expect(out).toContain(`version=${version}\n`);
  expect(out).toContain(`commit=${next}\n`);
  expect(out).toContain('minor=2+\n');
  expect(parseStatusFile(await ws.read('bazel-out/stable-status.txt')).get('STABLE_BUILD_SCM_STATUS')).toBe('clean');
});
