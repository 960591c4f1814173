import { describe, expect, test } from '@jest/globals';
import { engineArgs, hostPlatform, platformArgs } from '../../../src/builder/engines/platform-args.js';
import { argsUsedInFrom, declareGlobalArgs, pinTargetPlatform, rewriteContextRefs } from '../../../src/builder/engines/rewrite-contexts.js';

describe('rewriteContextRefs (named contexts for an engine without --build-context)', () => {
  const names = { base: 'localhost/berth-context/base:0123456789abcdef', src: 'localhost/berth-context/src:fedcba9876543210' };

  test('FROM NAME and COPY --from=NAME become the loaded names; stages, variables and other images stay', () => {
    const text = [
      'ARG X=1',
      'FROM --platform=$BUILDPLATFORM base AS builder',
      'COPY --from=src /a /a',
      'FROM $BASE AS other',
      'FROM builder',
      'COPY --from=builder /a /b',
      'COPY --chown=1:1 --from=src \\',
      '  /c /c',
      'FROM alpine:3',
      '',
    ].join('\r\n');
    expect(rewriteContextRefs(text, names).split('\r\n')).toEqual([
      'ARG X=1',
      `FROM --platform=$BUILDPLATFORM ${names.base} AS builder`,
      `COPY --from=${names.src} /a /a`,
      'FROM $BASE AS other',
      'FROM builder',
      'COPY --from=builder /a /b',
      `COPY --chown=1:1 --from=${names.src} \\`,
      '  /c /c',
      'FROM alpine:3',
      '',
    ]);
  });

  test('references split over continuations, with the escape directive, are rewritten in place', () => {
    const text = '# escape=`\nFROM `\n  # a comment\n  base AS b\nCOPY --from=`\nsrc /a /a\n';
    expect(rewriteContextRefs(text, names)).toBe(`# escape=\`\nFROM \`\n  # a comment\n  ${names.base} AS b\nCOPY --from=\`\n${names.src} /a /a\n`);
  });

  test('a context named like a stage is the stage', () => {
    const text = 'FROM base AS src\nFROM base\nCOPY --from=src /a /a\n';
    expect(rewriteContextRefs(text, names)).toBe(`FROM ${names.base} AS src\nFROM ${names.base}\nCOPY --from=src /a /a\n`);
  });
});

describe('declareGlobalArgs (platform args for the classic builder)', () => {
  test('ARGs go before the first FROM, after parser directives', () => {
    expect(declareGlobalArgs('# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n', ['A', 'B'])).toBe('# syntax=docker/dockerfile:1\n# escape=`\nARG A\nARG B\nFROM x\n');
    expect(declareGlobalArgs('# a comment\nFROM x\n', ['A'])).toBe('ARG A\n# a comment\nFROM x\n');
    expect(declareGlobalArgs('FROM x', ['A'])).toBe('ARG A\nFROM x');
  });
});

describe('pinTargetPlatform (buildah 1.28 keeps one stage\'s FROM --platform for the next)', () => {
  test('FROM of an image without --platform gets $TARGETPLATFORM; scratch, earlier stages and explicit platforms stay', () => {
    const text = 'FROM --platform=$BUILDPLATFORM tools AS build\nRUN make\nFROM base AS final\nFROM build\nFROM scratch\nFROM Final\n';
    expect(pinTargetPlatform(text)).toBe('FROM --platform=$BUILDPLATFORM tools AS build\nRUN make\nFROM --platform=$TARGETPLATFORM base AS final\nFROM build\nFROM scratch\nFROM Final\n');
  });
});

describe('rewriteContextRefs: more spellings', () => {
  const names = { base: 'localhost/berth-context/base:0123456789abcdef', src: 'localhost/berth-context/src:fedcba9876543210' };

  test('keywords, AS and --from in any case; a stage named in another case is still the stage', () => {
    const text = 'from base as Builder\ncopy --FROM=src /a /a\nCOPY --from=BUILDER /b /b\nFROM base AS SRC\nCOPY --from=src /c /c\n';
    expect(rewriteContextRefs(text, names)).toBe(`from ${names.base} as Builder\ncopy --FROM=src /a /a\nCOPY --from=BUILDER /b /b\nFROM ${names.base} AS SRC\nCOPY --from=src /c /c\n`);
    const noStage = 'from base as Builder\ncopy --FROM=src /a /a\n';
    expect(rewriteContextRefs(noStage, names)).toBe(`from ${names.base} as Builder\ncopy --FROM=${names.src} /a /a\n`);
  });

  test('flags only before the sources; flags without a value skipped; names an object has of itself are not contexts', () => {
    const text = 'FROM toString\nCOPY --link --chmod=644 --from=src a --from=src /b\nCOPY --from=constructor /a /a\n';
    expect(rewriteContextRefs(text, names)).toBe(`FROM toString\nCOPY --link --chmod=644 --from=${names.src} a --from=src /b\nCOPY --from=constructor /a /a\n`);
  });

  test('a FROM with flags and no image, an AS with no name, and a bad escape directive leave the text alone', () => {
    expect(rewriteContextRefs('FROM --platform=linux/amd64\n', names)).toBe('FROM --platform=linux/amd64\n');
    expect(rewriteContextRefs('FROM base AS\n', names)).toBe(`FROM ${names.base} AS\n`);
    expect(rewriteContextRefs('# escape=x\nFROM base\n', names)).toBe('# escape=x\nFROM base\n');
  });
});

describe('declareGlobalArgs: line ends and a file that ends in a directive', () => {
  test('CRLF text gets CRLF ARG lines; a last directive line without its newline gets one; no names, no change', () => {
    expect(declareGlobalArgs('# syntax=docker/dockerfile:1\r\nFROM x\r\n', ['A'])).toBe('# syntax=docker/dockerfile:1\r\nARG A\r\nFROM x\r\n');
    expect(declareGlobalArgs('# syntax=docker/dockerfile:1\n# escape=`', ['A'])).toBe('# syntax=docker/dockerfile:1\n# escape=`\nARG A\n');
    expect(declareGlobalArgs('# syntax=docker/dockerfile:1', [])).toBe('# syntax=docker/dockerfile:1');
  });
});

describe('argsUsedInFrom', () => {
  test('$NAME, ${NAME} and ${NAME:-default} in FROM lines only, whole names only', () => {
    const text = 'FROM --platform=$BUILDPLATFORM a AS x\nFROM b:${TARGETARCH}\nfrom c:${TARGETOS:-linux}\nFROM d:$BUILDOSX\nRUN echo $BUILDARCH ${TARGETVARIANT}\n';
    expect(argsUsedInFrom(text, ['BUILDPLATFORM', 'TARGETARCH', 'TARGETOS', 'BUILDOS', 'BUILDARCH', 'TARGETVARIANT'])).toEqual(['BUILDPLATFORM', 'TARGETARCH', 'TARGETOS']);
  });
});

describe('pinTargetPlatform: several FROMs, any case', () => {
  test('each FROM of an image is pinned in place; SCRATCH and --PLATFORM in capitals are recognised', () => {
    const text = 'FROM a AS one\nFROM --PLATFORM=linux/arm64 b\nFROM SCRATCH\nFROM c\nFROM ONE\n';
    expect(pinTargetPlatform(text)).toBe('FROM --platform=$TARGETPLATFORM a AS one\nFROM --PLATFORM=linux/arm64 b\nFROM SCRATCH\nFROM --platform=$TARGETPLATFORM c\nFROM ONE\n');
  });
});

describe('platform args (platform-args.ts)', () => {
  test('hostPlatform: node\'s arch names as images name them', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('mips')).toEqual({ os: 'linux', architecture: 'mips' });
  });

  test('platformArgs: TARGET* and BUILD*, variants empty when there is none', () => {
    expect(platformArgs({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'amd64' })).toEqual({
      TARGETPLATFORM: 'linux/arm/v7',
      TARGETOS: 'linux',
      TARGETARCH: 'arm',
      TARGETVARIANT: 'v7',
      BUILDPLATFORM: 'linux/amd64',
      BUILDOS: 'linux',
      BUILDARCH: 'amd64',
      BUILDVARIANT: '',
    });
    expect(platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toMatchObject({ TARGETVARIANT: '', BUILDPLATFORM: 'linux/arm64/v8', BUILDVARIANT: 'v8' });
  });

  test('engineArgs: only what an ARG declares or a FROM refers to, the proxy args always, the caller\'s values winning', () => {
    const text = 'ARG VERSION\nFROM --platform=$BUILDPLATFORM base\nARG TARGETARCH\nENV X=1\n';
    const df = { metaArgs: [{ args: [{ name: 'VERSION' }] }], stages: [{ instructions: [{ kind: 'ARG', args: [{ name: 'TARGETARCH' }] }, { kind: 'ENV', args: [{ name: 'X' }] }] }] };
    const args = engineArgs(df, (n) => argsUsedInFrom(text, n), { os: 'linux', architecture: 'arm64' }, { VERSION: '1', X: 'no', UNUSED: 'no', HTTP_PROXY: 'http://proxy', no_proxy: 'localhost', TARGETARCH: 'mine' }, { os: 'linux', architecture: 'amd64' });
    expect(args).toEqual({ TARGETARCH: 'mine', BUILDPLATFORM: 'linux/amd64', VERSION: '1', HTTP_PROXY: 'http://proxy', no_proxy: 'localhost' });
  });
});

describe('rewriteContextRefs: RUN --mount from= (bug fix: BuildKit through Docker 20.10 looked the name up in a registry)', () => {
  const names = { base: 'localhost/berth-context/base:0123456789abcdef', src: 'localhost/berth-context/src:fedcba9876543210' };

  test('from= in a RUN --mount becomes the loaded name; a stage, an unknown name, another flag, or a word after the command stay', () => {
    const text = [
      'FROM base AS build',
      'RUN --network=none --mount=type=bind,FROM=src,source=/a,target=/s --mount=type=cache,target=/c make',
      'run --MOUNT=from=src,target=/m --mount=from=build,target=/b --mount=type=bind,from=other,target=/o \\',
      '  --mount=type=bind,target=/t,from=base cp --mount=from=src /x',
      '',
    ].join('\n');
    expect(rewriteContextRefs(text, names)).toBe(
      [
        `FROM ${names.base} AS build`,
        `RUN --network=none --mount=type=bind,FROM=${names.src},source=/a,target=/s --mount=type=cache,target=/c make`,
        `run --MOUNT=from=${names.src},target=/m --mount=from=build,target=/b --mount=type=bind,from=other,target=/o \\`,
        `  --mount=type=bind,target=/t,from=${names.base} cp --mount=from=src /x`,
        '',
      ].join('\n'),
    );
  });
});

describe('rewrite-contexts: words that only look like stages or flags', () => {
  const names = { base: 'localhost/berth-context/base:0123456789abcdef', src: 'localhost/berth-context/src:fedcba9876543210' };

  test('"AS name" outside FROM names no stage; --chown=NAME is not a context; FROM with flags only is left alone', () => {
    expect(rewriteContextRefs('FROM base\nRUN echo as src\nCOPY --chown=src --from=src /a /a\n', names)).toBe(`FROM ${names.base}\nRUN echo as src\nCOPY --chown=src --from=${names.src} /a /a\n`);
    expect(pinTargetPlatform('FROM --platform=linux/amd64\nFROM base\n')).toBe('FROM --platform=linux/amd64\nFROM --platform=$TARGETPLATFORM base\n');
  });

  test('declareGlobalArgs: a file whose last line has no newline, after a directive', () => {
    expect(declareGlobalArgs('# escape=`\nFROM x', ['A'])).toBe('# escape=`\nARG A\nFROM x');
  });
});

describe('contextLocalName: the name an image context is loaded under in an engine\'s store', () => {
  const image = { digest: `sha256:0123456789abcdef${'f'.repeat(48)}` as import('../../../src/oci/digest.js').Digest };

  test('lower-cased, runs of other characters one dash, leading non-alphanumerics dropped, 16 hex digits of the digest as tag', async () => {
    const { contextLocalName } = await import('../../../src/builder/engines/engine.js');
    expect(contextLocalName('base', image)).toBe('localhost/berth-context/base:0123456789abcdef');
    expect(contextLocalName('My Ctx!!', image)).toBe('localhost/berth-context/my-ctx-:0123456789abcdef');
    expect(contextLocalName('a.b_c-d', image)).toBe('localhost/berth-context/a.b_c-d:0123456789abcdef');
    expect(contextLocalName('..Hidden', image)).toBe('localhost/berth-context/hidden:0123456789abcdef');
    expect(contextLocalName('__', image)).toBe('localhost/berth-context/context:0123456789abcdef');
    expect(contextLocalName('x', { digest: `sha256:${'a'.repeat(64)}` as import('../../../src/oci/digest.js').Digest })).toBe(`localhost/berth-context/x:${'a'.repeat(16)}`);
  });
});
