import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import { dispatchStage } from '../../src/dockerfile/dispatch.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild, type PlanInput } from '../../src/dockerfile/stage-plan.js';
import { parsePlatform } from '../../src/oci/platform.js';

const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');

function plan(text: string, extra: Partial<PlanInput> = {}) {
  return planBuild({ dockerfile: parseDockerfile(text), platform: arm64, buildPlatform: amd64, buildArgs: {}, contextNames: new Set(), ...extra });
}

function failure(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
}

const KYMA = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
FROM --platform=$BUILDPLATFORM golang:\${GO_VERSION} AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM scratch
COPY --from=builder /out/app /app
ENTRYPOINT ["/app"]
`;

describe('parsing', () => {
  it('folds continuations, skips comments, honours the escape directive, parses both forms', () => {
    const df = parseDockerfile('# escape=`\nFROM scratch\nCOPY a `\n  # comment inside\n  b /dst/\nCMD ["a", "b c"]\nENTRYPOINT run it\n', 'x/Dockerfile');
    expect(df.escape).toBe('`');
    const [copy, cmd, ep] = df.stages[0]!.instructions;
    expect(copy).toMatchObject({ kind: 'COPY', sources: ['a', 'b'], dest: '/dst/', line: 3 });
    expect(cmd).toMatchObject({ kind: 'CMD', command: { form: 'exec', argv: ['a', 'b c'] } });
    expect(ep).toMatchObject({ kind: 'ENTRYPOINT', command: { form: 'shell', text: 'run it' } });
  });

  it('reads ENV/LABEL pairs in both forms, flags, heredocs and healthchecks', () => {
    const df = parseDockerfile('FROM scratch\nENV A=1 B="x y"\nENV C some words\nLABEL "a b"=c\nCOPY --chown=1:2 --chmod=755 --link a /b\nCOPY <<EOT /hello\nhi $X\nEOT\nHEALTHCHECK --interval=1m30s --retries=3 CMD ["/probe"]\n');
    const [env, env2, label, copy, here, hc] = df.stages[0]!.instructions;
    expect(env).toMatchObject({ pairs: [{ key: 'A', value: '1' }, { key: 'B', value: '"x y"' }] });
    expect(env2).toMatchObject({ pairs: [{ key: 'C', value: 'some words' }] });
    expect(label).toMatchObject({ pairs: [{ key: '"a b"', value: 'c' }] });
    expect(copy).toMatchObject({ chown: '1:2', chmod: '755', link: true });
    expect(here).toMatchObject({ sources: ['<<EOT'], dest: '/hello', heredocs: [{ name: 'EOT', content: 'hi $X\n' }] });
    expect(hc).toMatchObject({ healthcheck: { Test: ['CMD', '/probe'], Interval: 90e9, Retries: 3 } });
  });

  it.each([
    ['FROM scratch\nFOO bar\n', /^Dockerfile:2: FOO: unknown instruction/],
    ['FROM scratch\nCOPY --frm=a b c\n', /^Dockerfile:2: COPY: unknown flag: --frm/],
    ['FROM scratch\nCOPY --link=maybe a b\n', /^Dockerfile:2: COPY: expecting boolean/],
    ['FROM scratch\nADD --from=x a b\n', /^Dockerfile:2: ADD: unknown flag: --from/],
    ['FROM scratch\nCOPY onlyone\n', /^Dockerfile:2: COPY: requires at least two/],
    ['ENV A=b\nFROM scratch\n', /^Dockerfile:1: ENV: no FROM before it/],
    ['FROM a b c d\n', /^Dockerfile:1: FROM: expects/],
    ['FROM scratch\nHEALTHCHECK --interval=soon CMD x\n', /^Dockerfile:2: HEALTHCHECK: --interval/],
    ['FROM scratch\nSHELL /bin/sh\n', /^Dockerfile:2: SHELL: requires the arguments to be in JSON form/],
    ['FROM scratch\nONBUILD ONBUILD RUN x\n', /^Dockerfile:2: ONBUILD: chaining/],
    ['# just a comment\n', /^Dockerfile:1: the Dockerfile has no FROM/],
  ])('refuses %j with its line', (text, message) => {
    expect(failure(() => parseDockerfile(text)).message).toMatch(message);
  });
});

describe('planning', () => {
  it('plans the cross-compile pattern: builder on the build platform, args seen by FROM', () => {
    const p = plan(KYMA);
    expect(p.stages.map((s) => s.label)).toEqual(['stage "builder"', 'stage 1']);
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'golang:1.22' });
    expect(p.stages[0]!.platform).toEqual(amd64);
    expect(p.stages[1]!.platform).toEqual(arm64);
    expect(p.stages[0]!.argValues.get('TARGETARCH')).toBe('arm64');
    expect(p.hasRun).toBe(true);
  });

  it('builds only what the target needs, in dependency order', () => {
    const text = 'FROM scratch AS a\nFROM scratch AS b\nCOPY --from=a /x /x\nFROM b AS c\nFROM scratch AS d\nRUN x\n';
    const p = plan(text, { target: 'c' });
    expect(p.stages.map((s) => s.stage.name)).toEqual(['a', 'b', 'c']);
    expect(p.hasRun).toBe(false);
    expect(plan(text).hasRun).toBe(true);
  });

  it('resolves named contexts before images, and stage indexes in --from', () => {
    const p = plan('FROM scratch\nFROM base\nCOPY --from=0 /a /b\nCOPY --from=tools /c /d\n', { contextNames: new Set(['base', 'tools']) });
    expect(p.target.base).toEqual({ kind: 'context', name: 'base' });
    expect([...p.target.copyFrom.values()]).toEqual([{ kind: 'stage', index: 0 }, { kind: 'context', name: 'tools' }]);
  });

  it('gives build args over defaults, warns of undeclared ones, passes BUILD_COMMIT_SHA', () => {
    const p = plan('ARG V=1\nFROM img:$V\nARG BUILD_COMMIT_SHA\n', { buildArgs: { V: '2', NOPE: 'x', HTTP_PROXY: 'p' }, commitSha: 'abc' });
    expect(p.target.base).toEqual({ kind: 'image', ref: 'img:2' });
    expect(p.target.argValues.get('BUILD_COMMIT_SHA')).toBe('abc');
    expect(p.warnings).toEqual(['build-args were given but not consumed (no ARG declares them): NOPE']);
  });

  it.each([
    ['FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n', {}, /^Dockerfile:\d: circular dependency detected on stage "(a|b)"/],
    ['FROM scratch AS a\nCOPY --from=a /x /x\n', {}, /^Dockerfile:2: circular dependency/],
    ['FROM scratch AS a\n', { target: 'nope' }, /^--target nope: Dockerfile has no stage of that name \(stages: a\)/],
    ['FROM scratch AS a\nFROM scratch AS a\n', {}, /^Dockerfile:2: FROM: duplicate stage name "a"/],
    ['FROM --platform=linux/nope scratch\n', {}, /^Dockerfile:1: FROM --platform: unknown/],
    ['FROM ${X\n', {}, /^Dockerfile:1: FROM: missing '}'/],
    ['FROM scratch\nCOPY --from=7 /a /b\n', {}, /^Dockerfile:2: COPY: --from=7: there is no stage 7/],
  ] as [string, Partial<PlanInput>, RegExp][])('refuses %j', (text, extra, message) => {
    expect(failure(() => plan(text, extra)).message).toMatch(message);
  });
});

describe('dispatching a stage', () => {
  it('expands with ARG then ENV, applies CMD/ENTRYPOINT interplay, records ONBUILD, resolves WORKDIR', () => {
    const p = plan('FROM scratch\nARG TARGETARCH\nENV DIR=/opt/$TARGETARCH\nWORKDIR $DIR\nWORKDIR sub\nCOPY bin-${TARGETARCH} ./\nENTRYPOINT ["/x"]\nEXPOSE 80 53/udp 8000-8001\nVOLUME ["/data"]\nLABEL a=$DIR\nSTOPSIGNAL SIGINT\nONBUILD COPY a b\nUSER 1000:1000\n');
    const r = dispatchStage(parseDockerfile('FROM scratch'), p.target, { Cmd: ['inherited'], Env: ['PATH=/bin'] });
    expect(r.config).toMatchObject({
      Env: ['PATH=/bin', 'DIR=/opt/arm64'],
      WorkingDir: '/opt/arm64/sub',
      Entrypoint: ['/x'],
      Cmd: null,
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { a: '/opt/arm64' },
      StopSignal: 'SIGINT',
      OnBuild: ['COPY a b'],
      User: '1000:1000',
    });
    const copy = r.ops.find((o) => o.layer?.kind === 'copy')!.layer!;
    expect(copy).toMatchObject({ sources: ['bin-arm64'], dest: '/opt/arm64/sub', destIsDir: true });
  });

  it('runs a base image\'s ONBUILD triggers first and wraps shell forms in SHELL', () => {
    const df = parseDockerfile('FROM img\nSHELL ["/bin/bash", "-c"]\nCMD echo hi\n');
    const p = planBuild({ dockerfile: df, platform: amd64, buildPlatform: amd64, buildArgs: {}, contextNames: new Set() });
    const r = dispatchStage(df, p.target, { OnBuild: ['ENV FROM_TRIGGER=1'] });
    expect(r.config).toEqual({ Env: ['FROM_TRIGGER=1'], Shell: ['/bin/bash', '-c'], Cmd: ['/bin/bash', '-c', 'echo hi'] });
  });
});

// Real Dockerfiles of the shapes berth's users write, mutated: the parser and planner end with a plan or a UsageError.
const SEEDS = [KYMA, 'FROM alpine:3.19 AS base\nRUN apk add --no-cache ca-certificates\nFROM scratch\nCOPY --from=base /etc/ssl /etc/ssl\nCOPY app /app\nUSER 65532:65532\nENTRYPOINT ["/app"]\n', '# escape=`\nFROM scratch\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 http://x/y /y\nLABEL a="b c" `\n  d=e\nHEALTHCHECK NONE\n'];

describe('hostile Dockerfiles', () => {
  it('end in a plan or a UsageError, never a crash', () => {
    const mutated = fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(6), fc.string({ maxLength: 6 })), { maxLength: 6 })).map(([seed, edits]) => {
      let text = seed;
      for (const [at, len, insert] of edits) {
        const i = at % (text.length + 1);
        text = text.slice(0, i) + insert + text.slice(i + len);
      }
      return text;
    });
    const arbitrary = fc.oneof(mutated, fc.string({ maxLength: 200 }), fc.array(fc.constantFrom('FROM ', 'COPY ', '--from=', '$', '${', '}', ':-', '"', "'", '\\\n', '\n', '[', ']', 'a', ' ', '<<EOF\n', 'EOF\n', 'AS ', '# escape=`\n'), { maxLength: 40 }).map((a) => a.join('')));
    fc.assert(
      fc.property(arbitrary, fc.constantFrom(undefined, 'builder', 'base'), (text, target) => {
        try {
          const df = parseDockerfile(text);
          const p = planBuild({ dockerfile: df, platform: arm64, buildPlatform: amd64, buildArgs: { GO_VERSION: '1' }, contextNames: new Set(), ...(target ? { target } : {}) });
          for (const s of p.stages) dispatchStage(df, s, {});
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
        }
      }),
      { numRuns: 600 }, // a fixed count: every run tries as many cases
    );
  });
});
