import { describe, expect, test } from '@jest/globals';
import { declareGlobalArgs, pinTargetPlatform, rewriteContextRefs } from '../../../src/builder/engines/rewrite-contexts.js';

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
