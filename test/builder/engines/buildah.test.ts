import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildahEngine } from '../../../src/builder/engines/buildah.js';
import type { Image } from '../../../src/transport/image.js';
import { withoutEmulator } from '../../helpers/binfmt.js';
import { makeBusyboxBase } from '../../helpers/busybox-base.js';
import { run, tempDir } from '../../helpers/tools.js';
import { configTimes, engineBuild, EPOCH, expectLoadedByReference, fileTree, imageContext, readImage, RUN_DOCKERFILE, unpack } from './engine-helpers.js';


let dir: string;
let cleanup: () => Promise<void>;
let base: Image;
const engine = () => buildahEngine({ storage: join(dir, 'storage') });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-buildah-'));
  base = await readImage(await makeBusyboxBase(dir));
});
afterAll(async () => cleanup());

describe('buildah engine (buildah 1.28, chroot isolation, vfs)', () => {
  test('is available here', async () => {
    expect(await engine().available()).toBe(true);
    expect(await buildahEngine({ bin: 'no-such-buildah' }).available()).toBe(false);
  });

  test('a RUN build gives the same digest twice; files, modes and owners as the RUN made them; times at the epoch, the base\'s history as the base has it; base layer kept', async () => {
    const contexts = { base: imageContext('base', base) };
    const first = await engineBuild(engine(), dir, RUN_DOCKERFILE, { contexts });
    const second = await engineBuild(engine(), dir, RUN_DOCKERFILE, { contexts });
    expect(second.image.digest).toBe(first.image.digest);
    expect(first.log.some((l) => l.startsWith('STEP 2/2: RUN echo hi'))).toBe(true);

    const img = first.image;
    expect(img.manifest.layers).toHaveLength(2);
    expect(img.manifest.layers[0]).toEqual(base.manifest.layers[0]);
    // The base's history entries are the base's own (made at another epoch); the build's are at this one.
    const baseHistory = base.config.history ?? [];
    expect(baseHistory.length).toBeGreaterThan(0);
    expect(img.config.history!.slice(0, baseHistory.length)).toEqual(baseHistory);
    expect(new Set(configTimes(img, baseHistory.length))).toEqual(new Set([new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z')]));
    expect(img.config.config?.Labels?.['io.buildah.version']).toBeUndefined();
    expect(img.config.history?.[1]?.created_by).toBe('/bin/sh -c echo hi > /x && mkdir /d && touch /d/f && chown 1234:5678 /d/f && chmod 0640 /d/f && ln /x /y && ln -s x /z && rm -r /tmp');

    const rootfs = await unpack(img, dir);
    const tree = await fileTree(rootfs);
    expect(tree).toEqual({
      bin: { type: 'dir', mode: '755', uid: 0, gid: 0 },
      'bin/busybox': { type: 'file', mode: '755', uid: 0, gid: 0, content: expect.stringMatching(/^<\d+ bytes>$/) },
      'bin/sh': { type: 'symlink', mode: '777', uid: 0, gid: 0, target: 'busybox' },
      d: { type: 'dir', mode: '755', uid: 0, gid: 0 },
      'd/f': { type: 'file', mode: '640', uid: 1234, gid: 5678, content: '' },
      x: { type: 'file', mode: '644', uid: 0, gid: 0, content: 'hi\n' },
      y: { type: 'file', mode: '644', uid: 0, gid: 0, content: 'hi\n' },
      z: { type: 'symlink', mode: '777', uid: 0, gid: 0, target: 'x' },
    });
    expect((await lstat(join(rootfs, 'y'))).ino).toBe((await lstat(join(rootfs, 'x'))).ino);
    // Every mtime of the RUN's layer is clamped to the epoch (they were made just now).
    expect((await lstat(join(rootfs, 'd/f'))).mtimeMs / 1000).toBe(EPOCH);
    // The deletion is a whiteout in the layer, the hard link a link to the first path, buildah's mount points gone.
    const layerPath = img.blobs.localPath!(img.manifest.layers[1]!)!;
    expect((await run('tar', ['-tvzf', layerPath])).trim().split('\n').map((l) => l.replace(/^(\S+) (\S+) +\d+ \S+ \S+ /, '$1 $2 '))).toEqual([
      '---------- 0/0 .wh.tmp',
      'drwxr-xr-x 0/0 d/',
      '-rw-r----- 1234/5678 d/f',
      '-rw-r--r-- 0/0 x',
      'hrw-r--r-- 0/0 y link to x',
      'lrwxrwxrwx 0/0 z -> x',
    ]);
  });

  test('--target, a build arg and a folder context', async () => {
    const files = join(dir, 'files');
    await mkdir(files, { recursive: true });
    await writeFile(join(files, 'greeting'), 'hello\n');
    const dockerfile = `FROM base AS one
ARG WHO
COPY --from=files /greeting /greeting
RUN echo "$WHO" >> /greeting
FROM one AS two
RUN rm /greeting
`;
    const { image } = await engineBuild(engine(), dir, dockerfile, {
      contexts: { base: imageContext('base', base), files: { kind: 'dir', path: files } },
      buildArgs: { WHO: 'berth' },
      target: 'one',
    });
    expect(await readFile(join(await unpack(image, dir), 'greeting'), 'utf8')).toBe('hello\nberth\n');
  });

  test('reads the ignore file berth gives it, over the context\'s .dockerignore', async () => {
    const files = { '.dockerignore': 'a\n', a: 'a', b: 'b' };
    const dockerfile = 'FROM base\nCOPY . /c/\nRUN ls -a /c > /listed\n';
    const contexts = { base: imageContext('base', base) };
    const listed = async (image: Image) => readFile(join(await unpack(image, dir), 'listed'), 'utf8');
    expect(await listed((await engineBuild(engine(), dir, dockerfile, { contexts, files })).image)).toBe('.\n..\n.dockerignore\nDockerfile\nb\n');
    expect(await listed((await engineBuild(engine(), dir, dockerfile, { contexts, files, ignoreFile: 'b\n' })).image)).toBe('.\n..\n.dockerignore\nDockerfile\na\n');
  });

  test('the kyma cross-compile pattern: a $BUILDPLATFORM builder stage runs natively for amd64 and arm64 targets', async () => {
    const dockerfile = `FROM --platform=$BUILDPLATFORM base AS builder
ARG TARGETARCH
ARG TARGETOS
RUN echo "GOOS=$TARGETOS GOARCH=$TARGETARCH" > /app && uname -m >> /app
FROM scratch
COPY --from=builder /app /app
`;
    const contexts = { base: imageContext('base', base) };
    for (const arch of ['amd64', 'arm64']) {
      const { image } = await engineBuild(engine(), dir, dockerfile, { contexts, platform: `linux/${arch}` });
      expect(image.config.architecture).toBe(arch);
      expect(image.manifest.layers).toHaveLength(1);
      const rootfs = await unpack(image, dir);
      expect(await readFile(join(rootfs, 'app'), 'utf8')).toBe(`GOOS=linux GOARCH=${arch}\nx86_64\n`);
    }
  });

  test('a failing RUN is exit 1 naming the step', async () => {
    const err = await engineBuild(engine(), dir, 'FROM base\nRUN true\nRUN exit 3\n', { contexts: { base: imageContext('base', base) } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED' });
    expect((err as Error).message).toMatch(/^buildah failed building at \S*\/ctx\/Dockerfile:3 step 3\/3 \(RUN exit 3\) \(exit code 3\): building at STEP "RUN exit 3": exit status 3/);
  });

  test('a RUN for a foreign platform without qemu names qemu-user-static and binfmt-support', async () => {
    const arm = await readImage(await makeBusyboxBase(dir, { name: 'arm-shell', platform: 'linux/arm64', foreignShell: true }));
    // qemu-user-static's aarch64 entry, registered on CI, is switched off for the test.
    const err = await withoutEmulator('aarch64', () =>
      engineBuild(engine(), dir, 'FROM --platform=linux/arm64 base\nRUN echo hi\n', {
        contexts: { base: imageContext('base', arm) },
        platform: 'linux/arm64',
      }).catch((e: unknown) => e),
    );
    expect(err).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED' });
    expect((err as Error).message).toMatch(/step 2\/2 \(RUN echo hi\): exec format error.*qemu-user-static and binfmt-support/);
  });

  test('an image the Dockerfile names by reference is loaded under that name: nothing is pulled', async () => {
    await expectLoadedByReference(engine(), dir, base);
  });
});
