/**
 * Behaviours a planted bug changed without any test noticing (issue 19), held here through
 * the pure planner and dispatcher.
 */
import { describe, expect, test } from '@jest/globals';
import { dispatchStage } from '../../src/dockerfile/dispatch.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/dockerfile/stage-plan.js';
import type { Platform } from '../../src/oci/platform.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };

function labels(text: string, opts: { platform?: Platform; buildArgs?: Record<string, string> } = {}): Record<string, string> {
  const df = parseDockerfile(text, 'Dockerfile');
  const plan = planBuild({ dockerfile: df, platform: opts.platform ?? amd64, buildPlatform: amd64, buildArgs: opts.buildArgs ?? {}, contextNames: new Set() });
  return (dispatchStage(df, plan.target, {}).config.Labels ?? {}) as Record<string, string>;
}

describe('ARG defaults: a global ARG and a stage\'s own', () => {
  test.each([
    ['ARG V=global\nFROM scratch\nARG V=stage\nLABEL v=$V\n', {}, 'stage'],
    ['ARG V=global\nFROM scratch\nARG V\nLABEL v=$V\n', {}, 'global'],
    ['ARG V=global\nFROM scratch\nLABEL v=x$V\n', {}, 'x'],
    ['ARG V=global\nFROM scratch\nARG V=stage\nLABEL v=$V\n', { V: 'cli' }, 'cli'],
    ['ARG V=global\nFROM scratch\nARG V\nLABEL v=$V\n', { V: 'cli' }, 'cli'],
    ['ARG V=global\nFROM scratch AS a\nARG V=a\nFROM scratch\nARG V\nLABEL v=$V\n', {}, 'global'],
  ])('%j with %j gives v=%s', (text, buildArgs, want) => expect(labels(text, { buildArgs }).v).toBe(want));
});

describe('the predefined platform arguments of variant platforms', () => {
  const text = 'FROM scratch\nARG TARGETPLATFORM\nARG TARGETOS\nARG TARGETARCH\nARG TARGETVARIANT\nARG BUILDPLATFORM\nLABEL p=$TARGETPLATFORM o=$TARGETOS a=$TARGETARCH v=x$TARGETVARIANT b=$BUILDPLATFORM\n';
  test('linux/arm/v7', () => expect(labels(text, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } })).toEqual({ p: 'linux/arm/v7', o: 'linux', a: 'arm', v: 'xv7', b: 'linux/amd64' }));
  test('linux/arm/v6', () => expect(labels(text, { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } })).toEqual({ p: 'linux/arm/v6', o: 'linux', a: 'arm', v: 'xv6', b: 'linux/amd64' }));
  test('linux/arm64 (what linux/arm64/v8 is built as)', () => expect(labels(text, { platform: { os: 'linux', architecture: 'arm64' } })).toEqual({ p: 'linux/arm64', o: 'linux', a: 'arm64', v: 'x', b: 'linux/amd64' }));
});

describe('a COPY destination\'s trailing slash', () => {
  const step = (line: string) => {
    const df = parseDockerfile(`FROM scratch\nWORKDIR /w\n${line}\n`, 'Dockerfile');
    const plan = planBuild({ dockerfile: df, platform: amd64, buildPlatform: amd64, buildArgs: {}, contextNames: new Set() });
    const op = dispatchStage(df, plan.target, {}).ops.at(-1)!.layer!;
    return op.kind === 'copy' ? `${op.dest} ${op.destIsDir}` : op.kind;
  };
  test.each([
    ['COPY a /x', '/x false'],
    ['COPY a /x/', '/x true'],
    ['COPY a .', '/w true'],
    ['COPY a ./', '/w true'],
    ['COPY a sub', '/w/sub false'],
    ['COPY a sub/', '/w/sub true'],
    ['COPY a b /x/', '/x true'],
  ])('%s -> %s', (line, want) => expect(step(line)).toBe(want));
});
