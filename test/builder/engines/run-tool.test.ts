import { describe, expect, test } from '@jest/globals';
import { runTool } from '../../../src/builder/engines/run-tool.js';

const sh = (script: string, log: string[] = []) => runTool({ engine: 'fake', cmd: 'sh', args: ['-c', script], log: (l) => log.push(l), doing: 'building' });

describe('runTool: an engine command, its lines streamed, its failure named', () => {
  test('every line of stdout and stderr reaches the log, a partial last line too, each stream in its order', async () => {
    const log: string[] = [];
    await sh('echo one; echo two >&2; printf "three"; printf "four" >&2', log);
    expect([...log].sort()).toEqual(['four', 'one', 'three', 'two']);
    expect(log.indexOf('one')).toBeLessThan(log.indexOf('three'));
    expect(log.indexOf('two')).toBeLessThan(log.indexOf('four'));
  });

  test('a failure is exit 1 naming the step and the engine\'s own error line', async () => {
    const err = await sh('echo "STEP 1/2: FROM x"; echo "STEP 2/2: RUN make"; echo "Error: building at STEP \\"RUN make\\": exit status 2" >&2; exit 2').catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED', message: 'fake failed building at step 2/2 (RUN make) (exit code 2): building at STEP "RUN make": exit status 2' });
  });

  test('exec format error names qemu and binfmt', async () => {
    const err = await sh('echo "STEP 2/2: RUN echo hi"; echo "error running container: exec format error" >&2; exit 1').catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'fake failed building at step 2/2 (RUN echo hi): exec format error, a RUN for a foreign platform; install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) or build that stage FROM --platform=$BUILDPLATFORM',
    );
  });

  test('a program that is not installed is exit 2 naming it', async () => {
    const err = await runTool({ engine: 'buildah', cmd: 'berth-test-no-such-buildah', args: [], log: () => {}, doing: 'building' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2, code: 'ENGINE_MISSING', message: 'buildah: "berth-test-no-such-buildah" is not installed' });
  });
});
