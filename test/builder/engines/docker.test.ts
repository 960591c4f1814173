import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildahEngine } from '../../../src/builder/engines/buildah.js';
import { chooseEngine } from '../../../src/builder/engines/choose.js';
import { dockerEngine } from '../../../src/builder/engines/docker.js';
import type { Image } from '../../../src/transport/image.js';
import { withoutEmulator } from '../../helpers/binfmt.js';
import { makeBusyboxBase } from '../../helpers/busybox-base.js';
import { startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { tempDir } from '../../helpers/tools.js';
import { engineBuild, expectLoadedByReference, fileTree, imageContext, readImage, RUN_DOCKERFILE, unpack } from './engine-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let dockerd: Dockerd;
let base: Image;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-docker-'));
  dockerd = await startDockerd(dir);
  base = await readImage(await makeBusyboxBase(dir));
}, 120_000);
afterAll(async () => {
  await dockerd?.stop();
  await cleanup();
});

const docker = (extra: NodeJS.ProcessEnv = {}) => dockerEngine({ env: { ...dockerd.env, ...extra } });

describe('Docker engine (Debian docker.io 20.10 daemon, vfs)', () => {
  test('HEALTHCHECK, SHELL, ONBUILD, STOPSIGNAL: buildah keeps them as BuildKit does (Docker format, normalized to OCI)', async () => {
    const dockerfile = [
      'FROM base',
      'SHELL ["/bin/sh", "-ec"]',
      'RUN echo hi > /x',
      'HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --retries=4 CMD ["/bin/sh", "-c", "test -f /x"]',
      'ONBUILD RUN echo child',
      'STOPSIGNAL SIGINT',
      '',
    ].join('\n');
    const contexts = { base: imageContext('base', base) };
    const buildkit = await engineBuild(dockerEngine({ bin: '/usr/bin/docker', env: { ...dockerd.env, DOCKER_BUILDKIT: '1' } }), dir, dockerfile, { contexts });
    const buildah = await engineBuild(buildahEngine(), dir, dockerfile, { contexts });
    const pick = (i: Image) => {
      const c = i.config.config as Record<string, unknown>;
      return { Healthcheck: c.Healthcheck, Shell: c.Shell, OnBuild: c.OnBuild, StopSignal: c.StopSignal, mediaType: i.manifest.mediaType };
    };
    expect(pick(buildkit.image).Healthcheck).toEqual({ Test: ['CMD', '/bin/sh', '-c', 'test -f /x'], Interval: 5e9, Timeout: 3e9, StartPeriod: 1e9, Retries: 4 });
    expect(pick(buildah.image)).toEqual(pick(buildkit.image));
    expect(pick(buildah.image)).toMatchObject({ Shell: ['/bin/sh', '-ec'], OnBuild: ['RUN echo child'], StopSignal: 'SIGINT', mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  }, 180_000);

  test('is available when its daemon answers, not otherwise', async () => {
    expect(await docker().available()).toBe(true);
    expect(await dockerEngine({ env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${dir}/none.sock` } }).available()).toBe(false);
  });

  test('--engine auto with RUN takes Docker when buildah is missing and the daemon answers', async () => {
    const chosen = await chooseEngine({ choice: 'auto', firstRun: 'Dockerfile:2', engines: { buildah: buildahEngine({ bin: 'berth-test-no-such-buildah' }), docker: docker() } });
    expect(chosen.kind === 'run' && chosen.engine.name).toBe('docker');
  });

  test('the RUN Dockerfile, classic builder and BuildKit, gives the same digest as buildah once normalized', async () => {
    const contexts = { base: imageContext('base', base) };
    const classic = await engineBuild(docker(), dir, RUN_DOCKERFILE, { contexts });
    expect(classic.log.some((l) => l.startsWith('Step 2/2 : RUN echo hi'))).toBe(true);
    const again = await engineBuild(docker(), dir, RUN_DOCKERFILE, { contexts });
    expect(again.image.digest).toBe(classic.image.digest);
    // BuildKit through Debian's own CLI: a newer docker CLI on PATH wants the buildx plugin for it.
    const buildkitEngine = dockerEngine({ bin: '/usr/bin/docker', env: { ...dockerd.env, DOCKER_BUILDKIT: '1' } });
    const buildkit = await engineBuild(buildkitEngine, dir, RUN_DOCKERFILE, { contexts });
    expect(buildkit.log.some((l) => /^#\d+ \[2\/2\] RUN echo hi/.test(l))).toBe(true);
    const buildah = await engineBuild(buildahEngine({ storage: join(dir, 'buildah') }), dir, RUN_DOCKERFILE, { contexts });

    // Same files, modes and owners from all three...
    const tree = await fileTree(await unpack(buildah.image, dir));
    expect(await fileTree(await unpack(classic.image, dir))).toEqual(tree);
    expect(await fileTree(await unpack(buildkit.image, dir))).toEqual(tree);
    // ...and, normalized, the same bytes: config, layers, manifest.
    expect(classic.image.manifest.layers[0]).toEqual(base.manifest.layers[0]);
    expect(classic.image.manifest.layers).toEqual(buildah.image.manifest.layers);
    expect(Buffer.from(classic.image.configRaw).toString()).toBe(Buffer.from(buildah.image.configRaw).toString());
    expect(classic.image.digest).toBe(buildah.image.digest);
    expect(buildkit.image.digest).toBe(buildah.image.digest);
  });

  test('a folder context and the cross-compile pattern for arm64', async () => {
    const files = join(dir, 'files');
    await mkdir(files, { recursive: true });
    await writeFile(join(files, 'hello.txt'), 'hello\n');
    const dockerfile = `FROM --platform=$BUILDPLATFORM base AS builder
ARG TARGETARCH
RUN echo "GOARCH=$TARGETARCH" > /app
FROM scratch
COPY --from=builder /app /app
COPY --from=files /hello.txt /hello.txt
`;
    const { image } = await engineBuild(docker(), dir, dockerfile, {
      contexts: { base: imageContext('base', base), files: { kind: 'dir', path: files } },
      platform: 'linux/arm64',
    });
    expect(image.config.architecture).toBe('arm64');
    const rootfs = await unpack(image, dir);
    expect(await readFile(join(rootfs, 'app'), 'utf8')).toBe('GOARCH=arm64\n');
    expect(await readFile(join(rootfs, 'hello.txt'), 'utf8')).toBe('hello\n');
  });

  test('a failing RUN is exit 1 naming the step', async () => {
    const err = await engineBuild(docker(), dir, 'FROM base\nRUN true\nRUN exit 3\n', { contexts: { base: imageContext('base', base) } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED' });
    expect((err as Error).message).toMatch(/^docker failed building at \S*\/ctx\/Dockerfile:3 step 3\/3 \(RUN exit 3\)/);
  });

  test('BuildKit: a failing RUN names its step; a foreign RUN names qemu', async () => {
    const buildkit = dockerEngine({ bin: '/usr/bin/docker', env: { ...dockerd.env, DOCKER_BUILDKIT: '1' } });
    const failed = await engineBuild(buildkit, dir, 'FROM base\nRUN true\nRUN exit 3\n', { contexts: { base: imageContext('base', base) } }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED' });
    expect((failed as Error).message).toMatch(/^docker failed building at \S*\/ctx\/Dockerfile:3 step 3\/3 \(RUN exit 3\)/);

    const arm = await readImage(await makeBusyboxBase(dir, { name: 'arm-shell', platform: 'linux/arm64', foreignShell: true }));
    // qemu-user-static's aarch64 entry, registered on CI, is switched off for this one.
    const foreign = await withoutEmulator('aarch64', () =>
      engineBuild(docker(), dir, 'FROM --platform=linux/arm64 base\nRUN echo hi\n', { contexts: { base: imageContext('base', arm) }, platform: 'linux/arm64' }).catch((e: unknown) => e),
    );
    expect(foreign).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED' });
    expect((foreign as Error).message).toMatch(/step 2\/2 \(RUN echo hi\): exec format error.*qemu-user-static and binfmt-support/);
  });

  test('an image the Dockerfile names by reference is loaded under that name: nothing is pulled', async () => {
    await expectLoadedByReference(docker(), dir, base);
  });
});
