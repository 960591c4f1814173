/**
 * Behaviours a planted bug changed without any test noticing (issue 19): each held here by a
 * test that fails when it changes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IgnoreRules } from '../../src/dockerfile/dockerignore.js';
import { ignoreFilter } from '../../src/builder/context-walk.js';
import { folderFiles } from '../../src/folders/folder-files.js';
import { jobType } from '../../src/folders/job-type.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-held-')));
afterAll(async () => cleanup());
import { sourceFiles, sourceFor } from '../../src/folders/sources.js';

describe('job type of Prow jobs that are neither pre- nor postsubmit', () => {
  test.each([
    [{ JOB_TYPE: 'batch' }, 'presubmit'],
    [{ JOB_TYPE: 'periodic' }, 'postsubmit'],
    [{ JOB_TYPE: 'batch', GITHUB_EVENT_NAME: 'push' }, 'presubmit'],
  ])('%j -> %s', (env, want) => expect(jobType(env)).toBe(want));
});

describe('the per-platform pick from a multi-arch folder (ImageSource.<arch>, Dockerfile.<arch>)', () => {
  const files = sourceFiles('gvisor/runsc', ['ImageSource.amd64', 'ImageSource.arm64', 'ImageSource.arm.v6', 'Dockerfile', 'Dockerfile.dockerignore', 'README.md']);
  test.each([
    ['linux/amd64', 'ImageSource.amd64'],
    ['linux/arm64', 'ImageSource.arm64'],
    ['linux/arm64/v8', 'ImageSource.arm64'],
    ['linux/arm/v6', 'ImageSource.arm.v6'],
    ['linux/arm/v7', 'Dockerfile'],
    ['linux/s390x', 'Dockerfile'],
  ])('%s -> %s', (platform, file) => {
    const [os, architecture, variant] = platform.split('/') as [string, string, string | undefined];
    expect(sourceFor('gvisor/runsc', files, { os, architecture, ...(variant ? { variant } : {}) }).file).toBe(file);
  });

  test('with no general source, a platform nothing builds is one line naming what the folder has', () => {
    const only = sourceFiles('kyma/app', ['Dockerfile.amd64']);
    expect(() => sourceFor('kyma/app', only, { os: 'linux', architecture: 'arm64' })).toThrow('kyma/app: nothing builds linux/arm64: add Dockerfile.arm64 or ImageSource.arm64, or a general Dockerfile (it has Dockerfile.amd64)');
  });
});

describe('the files a content hash reads', () => {
  test('a file re-included with ! inside an ignored folder is hashed, its content and all; the rest of the folder is not', async () => {
    const root = join(dir, 'img');
    await mkdir(join(root, 'vendor', 'deep'), { recursive: true });
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(root, 'vendor', 'deep', 'keep.go'), 'package keep\n');
    await writeFile(join(root, 'vendor', 'drop.go'), 'package drop\n');
    const rules = IgnoreRules.parse('vendor\n!vendor/deep/keep.go\n');
    const files = await folderFiles(root, ignoreFilter(rules));
    expect(files.map((f) => `${f.path} ${f.kind}`)).toEqual(['Dockerfile file', 'vendor/deep/keep.go file']);
    const before = files.find((f) => f.path === 'vendor/deep/keep.go')!.content;
    await writeFile(join(root, 'vendor', 'deep', 'keep.go'), 'package changed\n');
    const after = (await folderFiles(root, ignoreFilter(rules))).find((f) => f.path === 'vendor/deep/keep.go')!.content;
    expect(after).not.toBe(before);
    expect(after).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('hashing a folder leaves nothing open', () => {
  test('every file read for the hash is closed again (a folder of many files would run out of descriptors)', async () => {
    const { readdirSync } = await import('node:fs');
    const root = join(dir, 'many');
    await mkdir(root, { recursive: true });
    for (let i = 0; i < 64; i++) await writeFile(join(root, `f${i}`), `file ${i}\n`);
    const open = () => readdirSync('/proc/self/fd').length;
    // A handle left open is either still open when the call returns, or was closed by the
    // garbage collector, which Node reports as a warning: either way the leak is seen.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await folderFiles(root); // warm up: modules, thread pool
      const before = open();
      const files = await folderFiles(root);
      expect(files).toHaveLength(64);
      expect(open()).toBeLessThanOrEqual(before);
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => /file descriptor/i.test(w))).toEqual([]);
  });
});
