import { describe, expect, it } from '@jest/globals';
import type { RunInstruction } from '../../src/dockerfile/instructions.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild, type PlanInput } from '../../src/dockerfile/stage-plan.js';
import { parsePlatform } from '../../src/oci/platform.js';
import { failure } from '../helpers/usage-failure.js';

/**
 * planBuild against BuildKit's dockerfile2llb rules: ARGs before the first FROM are seen by FROM
 * lines only, a stage's `ARG NAME` inherits the global value, `--from` and `--mount from=` name a
 * stage by name or index (or an image), only the stages the target needs are built.
 */

const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');

function plan(text: string, extra: Partial<PlanInput> = {}) {
  return planBuild({ dockerfile: parseDockerfile(text), platform: arm64, buildPlatform: amd64, buildArgs: {}, contextNames: new Set(), ...extra });
}

describe('ARGs', () => {
  it('a stage ARG without a default inherits the global value; a default may use earlier ARGs (seen in COPY --from)', () => {
    const p = plan('ARG V=1\nARG UNSET\nFROM scratch AS x-1\nFROM a\nARG V\nARG A=x\nARG B=$A-$V\nARG UNSET\nARG LATER\nCOPY --from=$B /f /f\n');
    expect([...p.target.copyFrom.values()]).toEqual([{ kind: 'stage', index: 0 }]);
    // Defaults are the dispatcher's, each where it stands; only given and predefined values are fixed.
    expect([...p.target.argValues]).toEqual([]);
    // A global ARG without a value and not given has none.
    expect([...p.target.metaArgs]).toEqual([['V', '1']]);
  });

  it('a build arg wins over a stage default; a default that cannot be expanded is left to the dispatcher', () => {
    const p = plan('FROM a\nARG A=1\nARG B=${X\n', { buildArgs: { A: '2' } });
    expect([...p.target.argValues]).toEqual([['A', '2']]);
  });

  it('takes a default where it stands: COPY --from between two ARGs of one name reads the first', () => {
    const p = plan('FROM scratch AS one\nFROM scratch AS two\nFROM a\nARG S=one\nCOPY --from=$S /f /f\nARG S=two\nCOPY --from=$S /g /g\n');
    expect([...p.target.copyFrom.values()]).toEqual([{ kind: 'stage', index: 0 }, { kind: 'stage', index: 1 }]);
  });

  it('names the instruction in an expansion error', () => {
    expect(failure(() => plan('ARG V=${X\nFROM a\n'))).toBe("Dockerfile:1: ARG: missing '}' after ${X");
    expect(failure(() => plan('FROM --platform=${X a\n'))).toBe("Dockerfile:1: FROM --platform: missing '}' after ${X");
    expect(failure(() => plan('FROM a\nCOPY --from=${X /a /b\n'))).toBe("Dockerfile:2: COPY --from: missing '}' after ${X");
  });

  it('warns, sorted, of build args that no ARG of a needed stage declares (proxies are builtin)', () => {
    expect(plan('ARG G\nFROM a\nARG S\n', { buildArgs: { S: '1', G: '2', HTTPS_PROXY: 'p' } }).warnings).toEqual([]);
    expect(plan('FROM a AS x\nARG X\nFROM b\n', { buildArgs: { Z: '1', A: '2', X: '3' } }).warnings).toEqual(['build-args were given but not consumed (no ARG declares them): A, X, Z']);
  });
});

describe('FROM', () => {
  it('an empty image name is an error', () => {
    expect(failure(() => plan('ARG X\nFROM $X\n'))).toBe('Dockerfile:2: FROM: names no image');
  });

  it('a stage named as its own image is built from the image', () => {
    expect(plan('FROM alpine AS alpine\nRUN true\n').target.base).toEqual({ kind: 'image', ref: 'alpine' });
  });
});

describe('COPY --from and RUN --mount from=', () => {
  it('resolve a stage by name (expanded, any case) or by index, else an image', () => {
    const p = plan('FROM scratch AS Build\nFROM scratch\nARG S=build\nCOPY --from=$S /a /a\nCOPY --from=BUILD /a /a\nCOPY --from=0 /a /a\nCOPY --from=1a /b /b\nCOPY --from=a1 /b /b\nCOPY --from=alpine:3 /c /c\n');
    expect([...p.target.copyFrom.values()]).toEqual([
      { kind: 'stage', index: 0 },
      { kind: 'stage', index: 0 },
      { kind: 'stage', index: 0 },
      { kind: 'image', ref: '1a' },
      { kind: 'image', ref: 'a1' },
      { kind: 'image', ref: 'alpine:3' },
    ]);
    expect(p.stages.map((s) => s.label)).toEqual(['stage "build"', 'stage 1']);
  });

  it('refuse an index past the last stage, and scratch', () => {
    expect(failure(() => plan('FROM scratch\nFROM scratch\nCOPY --from=2 /a /b\n'))).toBe('Dockerfile:3: COPY: --from=2: there is no stage 2 (the Dockerfile has 2)');
    expect(failure(() => plan('FROM scratch\nFROM scratch\nCOPY --from=10 /a /b\n'))).toBe('Dockerfile:3: COPY: --from=10: there is no stage 10 (the Dockerfile has 2)');
    expect(failure(() => plan('FROM scratch\nCOPY --from=scratch /a /b\n'))).toBe('Dockerfile:2: COPY: --from=scratch copies nothing');
  });

  it('RUN --mount from= (expanded) makes the stage a dependency; a RUN without one has none', () => {
    const p = plan('FROM alpine AS tools\nFROM alpine\nARG T=tools\nRUN --mount=type=bind,from=$T,target=/t --mount=type=cache,target=/c true\nRUN --network=none true\n');
    const [withMount, plain] = p.target.stage.instructions.filter((i): i is RunInstruction => i.kind === 'RUN');
    expect(p.target.mountFrom.get(withMount!)).toEqual([{ kind: 'stage', index: 0 }]);
    expect(p.target.mountFrom.has(plain!)).toBe(false);
    expect(p.stages.map((s) => s.stage.index)).toEqual([0, 1]);
  });
});

describe('the stages a target needs', () => {
  it('each once, dependencies first, when several stages need the same one', () => {
    const p = plan('FROM scratch AS a\nFROM a AS b\nFROM scratch AS c\nCOPY --from=a /x /x\nCOPY --from=b /y /y\nCOPY --from=a /z /z\n');
    expect(p.stages.map((s) => s.stage.name)).toEqual(['a', 'b', 'c']);
  });

  it('an unknown --target lists the stage names, or says there are none', () => {
    expect(failure(() => plan('FROM scratch AS a\nFROM scratch AS b\n', { target: 'c' }))).toBe('--target c: Dockerfile has no stage of that name (stages: a, b)');
    expect(failure(() => plan('FROM scratch\n', { target: 'c' }))).toBe('--target c: Dockerfile has no stage of that name (its stages have no names)');
    // A bad flag value, not a bad Dockerfile: the error's code says so.
    expect(() => plan('FROM scratch\n', { target: 'c' })).toThrow(expect.objectContaining({ code: 'BAD_FLAG' }));
  });
});
