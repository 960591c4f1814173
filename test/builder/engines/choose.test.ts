import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { buildahEngine } from '../../../src/builder/engines/buildah.js';
import { chooseEngine, parseEngineChoice } from '../../../src/builder/engines/choose.js';
import { dockerEngine } from '../../../src/builder/engines/docker.js';
import { tempDir } from '../../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-choose-'));
});
afterAll(async () => cleanup());

/** Real engines: buildah as installed here or a name that is not; a docker CLI pointed at a socket where nothing listens. */
const buildah = () => buildahEngine({ storage: `${dir}/storage` });
const noBuildah = () => buildahEngine({ bin: 'berth-test-no-such-buildah' });
const noDocker = () => dockerEngine({ env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${dir}/nothing.sock` } });

describe('--engine', () => {
  test('auto: native without RUN, even when no engine is here', async () => {
    expect(await chooseEngine({ choice: 'auto', engines: { buildah: noBuildah(), docker: noDocker() } })).toEqual({ kind: 'native' });
  });

  test('auto with RUN: buildah when installed', async () => {
    const chosen = await chooseEngine({ choice: 'auto', firstRun: 'Dockerfile:2', engines: { buildah: buildah(), docker: noDocker() } });
    expect(chosen.kind === 'run' && chosen.engine.name).toBe('buildah');
  });

  test('auto with RUN and neither engine: exit 2 saying what to install', async () => {
    const err = await chooseEngine({ choice: 'auto', firstRun: 'Dockerfile:2', engines: { buildah: noBuildah(), docker: noDocker() } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2, code: 'ENGINE_MISSING' });
    expect((err as Error).message).toBe('Dockerfile:2 has RUN, which needs buildah or Docker and neither is here: install buildah (apt-get install buildah) or start a Docker daemon');
  });

  test('an engine asked for by name that is missing: exit 2 naming it', async () => {
    const b = await chooseEngine({ choice: 'buildah', engines: { buildah: noBuildah() } }).catch((e: unknown) => e);
    expect(b).toMatchObject({ exitCode: 2, message: '--engine buildah: buildah is not installed; install it (apt-get install buildah)' });
    const d = await chooseEngine({ choice: 'docker', engines: { docker: noDocker() } }).catch((e: unknown) => e);
    expect(d).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--engine docker: no Docker daemon answers/) });
  });

  test('native with RUN: exit 2 naming the line', async () => {
    const err = await chooseEngine({ choice: 'native', firstRun: 'Dockerfile:7' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--engine native: Dockerfile:7 has RUN/) });
  });

  test('an unknown engine name is exit 2 listing the choices', () => {
    expect(() => parseEngineChoice('podman')).toThrow('--engine: "podman" is not an engine; choose one of auto, native, buildah, docker');
    expect(parseEngineChoice('docker')).toBe('docker');
  });
});

describe('--engine: what is chosen, and whether its RUN steps run one by one', () => {
  test('buildah from the table runs step by step; an engine the caller brings does not', async () => {
    const table = await chooseEngine({ choice: 'buildah' });
    expect(table.kind === 'run' && [table.engine.name, table.stepwise]).toEqual(['buildah', true]);
    const auto = await chooseEngine({ choice: 'auto', firstRun: 'Dockerfile:2' });
    expect(auto.kind === 'run' && [auto.engine.name, auto.stepwise]).toEqual(['buildah', true]);
    const brought = buildah();
    expect(await chooseEngine({ choice: 'buildah', engines: { buildah: brought } })).toEqual({ kind: 'run', engine: brought, stepwise: false });
  });

  test('auto takes the table\'s next engine when buildah is missing; --engine docker takes Docker\'s', async () => {
    const dockerSlot = buildah();
    expect(await chooseEngine({ choice: 'auto', firstRun: 'Dockerfile:3', engines: { buildah: noBuildah(), docker: dockerSlot } })).toEqual({ kind: 'run', engine: dockerSlot, stepwise: false });
    expect(await chooseEngine({ choice: 'docker', engines: { buildah: noBuildah(), docker: dockerSlot } })).toEqual({ kind: 'run', engine: dockerSlot, stepwise: false });
  });

  test('native without RUN is native; with RUN the message lists the engines that run it', async () => {
    expect(await chooseEngine({ choice: 'native' })).toEqual({ kind: 'native' });
    await expect(chooseEngine({ choice: 'native', firstRun: 'images/app/Dockerfile:7' })).rejects.toThrow(
      '--engine native: images/app/Dockerfile:7 has RUN, which the native engine does not run; use --engine auto, buildah or docker',
    );
  });

  test('a missing Docker daemon: the whole line; every known name parses', async () => {
    const d = await chooseEngine({ choice: 'docker', engines: { docker: noDocker() } }).catch((e: unknown) => e);
    expect(d).toMatchObject({ code: 'ENGINE_MISSING', message: '--engine docker: no Docker daemon answers (DOCKER_HOST, or the default socket); start one (apt-get install docker.io)' });
    expect(['auto', 'native', 'buildah', 'docker'].map(parseEngineChoice)).toEqual(['auto', 'native', 'buildah', 'docker']);
    expect(() => parseEngineChoice('')).toThrow('--engine: "" is not an engine; choose one of auto, native, buildah, docker');
  });
});

describe('--engine: the error codes', () => {
  test('an unknown name is BAD_FLAG, exit 2', () => {
    let err: unknown;
    try {
      parseEngineChoice('kaniko');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'BAD_FLAG', exitCode: 2, message: '--engine: "kaniko" is not an engine; choose one of auto, native, buildah, docker' });
  });
});
