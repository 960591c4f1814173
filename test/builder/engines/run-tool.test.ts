import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
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

/** Whether `pid` is a live process (not a zombie). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('runTool: children end whole', () => {
  test('aborting ends the command, its children and a grandchild that left the group (setsid); the failure says stopped', async () => {
    const stop = new AbortController();
    const pids: number[] = [];
    const done = runTool({
      engine: 'fake',
      cmd: 'sh',
      args: ['-c', 'sleep 300 & echo $!; setsid sleep 301 & echo $!; echo "STEP 2/2: RUN make"; wait'],
      log: (l) => {
        if (/^\d+$/.test(l)) pids.push(Number(l));
        if (l.startsWith('STEP')) stop.abort();
      },
      doing: 'building',
      signal: stop.signal,
    }).catch((e: unknown) => e);
    const err = await done;
    expect(err).toMatchObject({ exitCode: 1, code: 'ENGINE_FAILED', message: 'fake stopped building at step 2/2 (RUN make): cancelled' });
    expect(pids).toHaveLength(2);
    expect(pids.filter(alive)).toEqual([]);
  }, 30_000);

  test('a failure names the Dockerfile line of the step (single stage, multi-stage, classic Docker counting)', async () => {
    const lines = { file: 'images/app/Dockerfile', stages: [{ name: 'build', lines: [1, 2, 4] }, { lines: [6, 7, 9] }] };
    const run = (script: string) => runTool({ engine: 'fake', cmd: 'sh', args: ['-c', script], log: () => {}, doing: 'building', lines }).catch((e: unknown) => (e as Error).message);
    expect(await run('echo "[2/2] STEP 3/3: RUN make"; echo "Error: boom" >&2; exit 1')).toBe('fake failed building at images/app/Dockerfile:9 stage 2/2, step 3/3 (RUN make) (exit code 1): boom');
    expect(await run('echo "Step 3/6 : RUN make"; exit 1')).toBe('fake failed building at images/app/Dockerfile:4 step 3/6 (RUN make) (exit code 1)');
    expect(await run('echo "#7 [build 2/3] RUN gen"; echo "#7 ERROR: x"; exit 1')).toBe('fake failed building at images/app/Dockerfile:2 stage build, step 2/3 (RUN gen) (exit code 1): x');
  });
});

describe('runTool: what a failure says, case by case', () => {
  const fail = (script: string, extra: Partial<Parameters<typeof runTool>[0]> = {}) =>
    runTool({ engine: 'fake', cmd: 'sh', args: ['-c', script], log: () => {}, doing: 'building', ...extra }).then(
      () => 'resolved',
      (e: unknown) => (e as Error).message,
    );

  test('no step seen and no error line: the exit code alone; killed by a signal: the signal', async () => {
    expect(await fail('exit 3')).toBe('fake failed building (exit code 3)');
    expect(await fail('kill -9 $$')).toBe('fake failed building (exit code SIGKILL)');
  });

  test('the engine\'s last error line: "Error: " or "ERROR: " at the start of a line, spaces around it dropped, at most 300 characters', async () => {
    expect(await fail('echo "Error: the first line"; echo "more output"; exit 1')).toBe('fake failed building (exit code 1): the first line');
    expect(await fail('echo "   ERROR: shouted   "; echo ""; exit 1')).toBe('fake failed building (exit code 1): shouted');
    expect(await fail('echo "Error: real"; echo "level=info msg=\\"Error: not this one\\""; exit 1')).toBe('fake failed building (exit code 1): real');
    expect(await fail(`echo "Error: ${'e'.repeat(400)}"; exit 1`)).toBe(`fake failed building (exit code 1): ${'e'.repeat(300)}`);
  });

  test('only the last 20 lines are searched for the error line', async () => {
    const after = (n: number) => `echo "Error: early"; for i in $(seq ${n}); do echo "line $i"; done; exit 1`;
    expect(await fail(after(19))).toBe('fake failed building (exit code 1): early');
    expect(await fail(after(20))).toBe('fake failed building (exit code 1)');
  });

  test('"Exec format error" in any case names qemu; without a step, no "at"', async () => {
    expect(await fail('echo "/bin/sh: 1: /prog: Exec format error" >&2; exit 126')).toBe(
      'fake failed building: exec format error, a RUN for a foreign platform; install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) or build that stage FROM --platform=$BUILDPLATFORM',
    );
  });

  test('the environment given reaches the command; success is quiet', async () => {
    const log: string[] = [];
    expect(await fail('echo "FOO=$FOO"', { env: { PATH: process.env.PATH, FOO: 'bar' }, log: (l) => log.push(l) })).toBe('resolved');
    expect(log).toEqual(['FOO=bar']);
  });

  test('stopped before any step: "stopped ... : cancelled" with no step', async () => {
    const stop = new AbortController();
    const msg = await fail('echo started; sleep 30', { signal: stop.signal, log: () => stop.abort(), doing: 'loading image context base' });
    expect(msg).toBe('fake stopped loading image context base: cancelled');
  }, 30_000);
});

describe('runTool: BuildKit\'s error lines and the codes', () => {
  const fail = (script: string) =>
    runTool({ engine: 'fake', cmd: 'sh', args: ['-c', script], log: () => {}, doing: 'building' }).then(
      () => new Error('resolved') as Error & { code?: string; exitCode?: number },
      (e: unknown) => e as Error & { code?: string; exitCode?: number },
    );

  test('"#12 ERROR: ..." at the start of a line is the message; inside another line it is not', async () => {
    expect((await fail('echo "#12 ERROR: process did not complete"; exit 1')).message).toBe('fake failed building (exit code 1): process did not complete');
    expect((await fail('echo "Error: real"; echo "echo #12 ERROR: fake"; exit 1')).message).toBe('fake failed building (exit code 1): real');
  });

  test('an exec format error is ENGINE_FAILED, exit 1', async () => {
    expect(await fail('echo "exec /bin/sh: exec format error"; exit 1')).toMatchObject({ code: 'ENGINE_FAILED', exitCode: 1 });
  });
});
