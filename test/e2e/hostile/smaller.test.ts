/**
 * The smaller points of issue 20, each as a user meets it: build_binaries with a missing
 * interpreter or 50 MB of output without a newline, an empty --build-context source, a Docker
 * archive's RepoTags, a full cache disk, binary bytes in variants.yaml, a loader's error line.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IS_ROOT, mountTmpfs } from '../../helpers/fs-conditions.js';
import { run, tempDir } from '../../helpers/tools.js';
import { loaderError } from '../../../src/folders/load-local.js';
import { lineSplitter } from '../../../src/util/children.js';
import { listTree, runBerth } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-hostile-smaller-'));
});
afterAll(() => cleanup());

const env = () => ({ PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'xdg') });

async function imageTree(name: string, buildBinaries?: string): Promise<string> {
  const tree = join(dir, name);
  await mkdir(join(tree, 'images', 'app'), { recursive: true });
  await writeFile(join(tree, 'images', 'app', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  if (buildBinaries !== undefined) {
    await writeFile(join(tree, 'images', 'app', 'build_binaries'), buildBinaries);
    await chmod(join(tree, 'images', 'app', 'build_binaries'), 0o755);
  }
  return tree;
}

test('build_binaries whose #! interpreter is missing: exit 1, one line naming the interpreter (not "exited undefined")', async () => {
  const tree = await imageTree('no-interpreter', '#!/usr/bin/no-such-python3\nprint(1)\n');
  const r = await runBerth(['images', 'build', 'app', '--cache-dir', join(tree, 'cache')], { cwd: tree, env: env() });
  expect(r.code).toBe(1);
  expect(r.lines).toEqual(['berth: app/build_binaries (linux/amd64) could not be started: its interpreter /usr/bin/no-such-python3 (the #! line) is not installed (ENOENT)']);
  expect(await readdir(join(tree, 'cache', 'work'))).toEqual([]);
});

test('build_binaries printing 50 MB without a newline: the line is cut, the build goes on, in bounded time', async () => {
  const tree = await imageTree('long-line', '#!/bin/sh\nhead -c 52428800 /dev/zero | tr "\\0" x\necho\necho done\n');
  const r = await runBerth(['images', 'build', 'app', '--cache-dir', join(tree, 'cache')], { cwd: tree, env: env() });
  expect(r.code).toBe(0);
  expect(r.stderr.length).toBeLessThan(64 * 1024);
  expect(r.lines).toContain('[app] build_binaries: done');
  expect(r.lines.some((l) => l.endsWith('… (line cut at 16384 characters)'))).toBe(true);
  expect(r.ms).toBeLessThan(15_000);
});

test('the line splitter keeps lines split across chunks, and cuts only the over-long one', () => {
  const got: string[] = [];
  const s = lineSplitter((l) => got.push(l));
  s.push('ab');
  s.push('c\nde');
  s.push('x'.repeat(20_000));
  s.push('y\nlast');
  s.end();
  expect(got).toEqual(['abc', `de${'x'.repeat(16_382)}… (line cut at 16384 characters)`, 'last']);
});

test('--build-context NAME= (empty): exit 2, one line; it never means the current folder', async () => {
  const tree = join(dir, 'ctx');
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'Dockerfile'), 'FROM scratch\nCOPY --from=foo / /\n');
  const before = await listTree(tree);
  const r = await runBerth(['build', '--dockerfile', 'Dockerfile', '--build-context', 'foo=', '-o', 'x.tar'], { cwd: tree, env: env() });
  expect(r.code).toBe(2);
  expect(r.lines).toEqual([expect.stringMatching(/^berth: --build-context foo: names no source \(empty after =\)/)]);
  expect(await listTree(tree)).toEqual(before);
});

test("berth load and inspect take a docker save archive's RepoTags (skopeo's docker-archive:, no OCI layout)", async () => {
  const tree = join(dir, 'archive');
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  expect((await runBerth(['build', '--dockerfile', 'Dockerfile', '-t', 'quay.io/org/app:v1', '-o', 'oci.tar'], { cwd: tree, env: env() })).code).toBe(0);
  await run('skopeo', ['copy', '-q', `oci-archive:${join(tree, 'oci.tar')}`, `docker-archive:${join(tree, 'docker.tar')}:quay.io/org/app:v1`]);
  const inspect = await runBerth(['inspect', 'docker.tar'], { cwd: tree, env: env() });
  expect(inspect.code).toBe(0);
  expect(inspect.stdout).toMatch(/^names\n {2}quay\.io\/org\/app:v1 {2}-> image sha256:[0-9a-f]{64} \(linux\/amd64\)\n/);
  const load = await runBerth(['load', 'docker.tar', '--into', 'loaded.tar'], { cwd: tree, env: env() });
  expect(load.code).toBe(0);
  expect(load.lines.at(-1)).toMatch(/^berth: loaded quay\.io\/org\/app:v1 \(sha256:[0-9a-f]{64}\) into /);
});

(IS_ROOT ? test : test.skip)('a full cache disk: exit 1 with ENOSPC (not ENOTEMPTY, not exit 2), no work folder left, three times', async () => {
  const tree = await imageTree('full');
  const { randomBytes } = await import('node:crypto');
  await writeFile(join(tree, 'images', 'app', 'big'), randomBytes(3 << 20));
  await mkdir(join(tree, 'images', 'lib'), { recursive: true });
  await writeFile(join(tree, 'images', 'lib', 'big'), randomBytes(3 << 20));
  await writeFile(join(tree, 'images', 'lib', 'Dockerfile'), 'FROM scratch\nCOPY big /big\n');
  await writeFile(join(tree, 'images', 'app', 'Dockerfile'), 'FROM scratch\nCOPY big /big\n');
  const cache = join(tree, 'cache');
  await mkdir(cache);
  const unmount = await mountTmpfs(cache, 1 << 20);
  try {
    for (let i = 0; i < 3; i++) {
      const r = await runBerth(['images', 'build', '--all', '--cache-dir', cache, '--output', join(tree, 'out')], { cwd: tree, env: env() });
      expect(r.code).toBe(1);
      expect(r.lines).toEqual([expect.stringMatching(/no space left on device \(ENOSPC\)$/)]);
      expect(await readdir(join(cache, 'work'))).toEqual([]);
    }
  } finally {
    await unmount();
  }
});

test('a variants.yaml of binary bytes: one line, no raw control bytes in it', async () => {
  const tree = await imageTree('binary-variants');
  await writeFile(join(tree, 'images', 'app', 'variants.yaml'), Buffer.from([0x6d, 0x3a, 0x20, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe, 0x00, 0x07, 0x0a]));
  const r = await runBerth(['images', 'build', 'app'], { cwd: tree, env: env() });
  expect(r.code).toBe(2);
  expect(r.lines).toEqual([expect.stringMatching(/variants\.yaml:1: not valid YAML: not UTF-8 text \(a binary file\?\)$/)]);
  // eslint-disable-next-line no-control-regex
  expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\ufffd]/);
});

test("a loader's error: its Error: line, not the detail podman prints after it", () => {
  const podman = 'Getting image source signatures\nError: payload does not match any of the supported image formats:\n * oci: open /x/index.json: not a directory\n * docker-archive: loading tar component manifest.json: file does not exist\n';
  expect(loaderError(podman, 125)).toBe('Error: payload does not match any of the supported image formats:');
  expect(loaderError('some output\nlast words\n', 1)).toBe('last words');
  expect(loaderError('', undefined, 'ENOENT')).toBe('it is not installed (not on PATH)');
});
