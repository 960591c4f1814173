import { describe, expect, it } from '@jest/globals';
import { parseDockerfile, parseInstruction, parseTrigger } from '../../src/dockerfile/parse.js';
import type { Instruction } from '../../src/dockerfile/instructions.js';
import { failure } from '../helpers/usage-failure.js';

/**
 * parse.ts instruction by instruction, against what BuildKit's parser and instructions package
 * (frontend/dockerfile/parser, frontend/dockerfile/instructions/parse.go) accept and refuse.
 * The error texts are berth's (`FILE:LINE: KEYWORD: what`); whether a line is an error is BuildKit's.
 */

/** The instructions of the one stage of `FROM a` + `body`. */
const stage = (body: string): Instruction[] => parseDockerfile(`FROM a\n${body}\n`).stages[0]!.instructions;
const one = (body: string): Instruction => stage(body)[0]!;
const refused = (body: string): string => failure(() => parseDockerfile(`FROM a\n${body}\n`));

describe('the Dockerfile', () => {
  it('keeps the syntax directive, whichever directive comes first, and has no syntax without one', () => {
    expect(parseDockerfile('# syntax=docker/dockerfile:1.7\n# escape=`\nFROM a\n')).toMatchObject({ escape: '`', syntax: 'docker/dockerfile:1.7' });
    expect(parseDockerfile('# escape=`\n# syntax=docker/dockerfile:1\nFROM a\n')).toMatchObject({ escape: '`', syntax: 'docker/dockerfile:1' });
    const plain = parseDockerfile('# escape=`\nFROM a\n', 'images/x/Dockerfile');
    expect(plain).toStrictEqual({ file: 'images/x/Dockerfile', escape: '`', metaArgs: [], stages: [expect.anything()] });
    expect('syntax' in plain).toBe(false);
  });

  it('reads keywords in any case, and names the file and the line in every error', () => {
    expect(parseDockerfile('from a AS Build\ncopy x /y\n').stages[0]).toMatchObject({ name: 'build', instructions: [{ kind: 'COPY', line: 2 }] });
    expect(failure(() => parseDockerfile('FROM a\n\nuser\n', 'sub/Dockerfile'))).toBe('sub/Dockerfile:3: USER: requires at least 1 argument');
  });
});

describe('FROM', () => {
  it('takes IMAGE or IMAGE AS NAME (AS in any case), a stage name lower-cased, and --platform', () => {
    expect(parseDockerfile('FROM --platform=$BUILDPLATFORM golang:1.22 as Builder\n').stages[0]!.from).toStrictEqual({
      kind: 'FROM', line: 1, original: 'FROM --platform=$BUILDPLATFORM golang:1.22 as Builder', image: 'golang:1.22', name: 'builder', platform: '$BUILDPLATFORM',
    });
    // No --platform, no name: neither key is there.
    expect(parseDockerfile('FROM alpine\n').stages[0]!.from).toStrictEqual({ kind: 'FROM', line: 1, original: 'FROM alpine', image: 'alpine' });
  });

  it.each([
    ['FROM a b c\n', 'Dockerfile:1: FROM: expects "FROM [--platform=P] IMAGE [AS NAME]"'],
    ['FROM a AS\n', 'Dockerfile:1: FROM: expects "FROM [--platform=P] IMAGE [AS NAME]"'],
    ['FROM a AS b c\n', 'Dockerfile:1: FROM: expects "FROM [--platform=P] IMAGE [AS NAME]"'],
    // instructions/parse.go: validStageName `^[a-z][a-z0-9-_.]*$` on the lower-cased name.
    ['FROM a AS 1st\n', 'Dockerfile:1: FROM: invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM a AS a:b\n', 'Dockerfile:1: FROM: invalid name for build stage: "a:b", name can\'t start with a number or contain symbols'],
    ['FROM a AS _x\n', 'Dockerfile:1: FROM: invalid name for build stage: "_x", name can\'t start with a number or contain symbols'],
    ['FROM --platform a\n', 'Dockerfile:1: FROM: missing a value on flag: --platform'],
    ['FROM --plat=x a\n', 'Dockerfile:1: FROM: unknown flag: --plat'],
  ])('refuses %j', (text, message) => {
    expect(failure(() => parseDockerfile(text))).toBe(message);
  });

  it('accepts the stage name characters BuildKit does', () => {
    expect(parseDockerfile('FROM a AS x1-y_z.w\n').stages[0]!.name).toBe('x1-y_z.w');
  });
});

describe('instructions that need an argument', () => {
  it.each(['ARG', 'ENV', 'LABEL', 'USER', 'WORKDIR', 'STOPSIGNAL', 'MAINTAINER', 'EXPOSE', 'VOLUME', 'ONBUILD', 'RUN'])('%s alone is an error', (keyword) => {
    expect(refused(keyword)).toBe(`Dockerfile:2: ${keyword}: requires at least 1 argument`);
  });

  it('RUN with flags only, VOLUME and SHELL with an empty JSON array are errors', () => {
    expect(refused('RUN --network=none')).toBe('Dockerfile:2: RUN: requires at least 1 argument');
    expect(refused('VOLUME []')).toBe('Dockerfile:2: VOLUME: requires at least 1 argument');
    expect(refused('SHELL []')).toBe('Dockerfile:2: SHELL: requires the arguments to be in JSON form, like SHELL ["/bin/sh", "-c"]');
  });

  it('keeps an instruction as written, trimmed', () => {
    expect(one('CMD')).toStrictEqual({ kind: 'CMD', line: 2, original: 'CMD', command: { form: 'shell', text: '' } });
    expect(parseInstruction('USER', '  bob  ', 7, '\\')).toStrictEqual({ kind: 'USER', line: 7, original: 'USER bob', value: 'bob' });
  });
});

describe('the exec form and the shell form', () => {
  it('reads a JSON array of strings as the exec form, anything else that is not JSON as the shell form', () => {
    expect(one('ENTRYPOINT ["/bin/app", "--flag"]')).toMatchObject({ command: { form: 'exec', argv: ['/bin/app', '--flag'] } });
    expect(one("CMD ['single', 'quotes']")).toMatchObject({ command: { form: 'shell', text: "['single', 'quotes']" } });
    expect(one('RUN [ "a", ')).toMatchObject({ command: { form: 'shell', text: '[ "a",' } });
  });

  it('reads the JSON array a line starts with and ignores what follows it, as Go\'s JSON decoder in BuildKit does', () => {
    expect(one('CMD ["a"] b')).toMatchObject({ command: { form: 'exec', argv: ['a'] } });
    expect(one('ENTRYPOINT ["x", "]"] ["y"]')).toMatchObject({ command: { form: 'exec', argv: ['x', ']'] } });
    expect(one('RUN ["a\\"]", "b"]c')).toMatchObject({ command: { form: 'exec', argv: ['a"]', 'b'] } });
    expect(one('CMD [}')).toMatchObject({ command: { form: 'shell', text: '[}' } });
    expect(one('COPY ["a", "/b/"] junk')).toMatchObject({ sources: ['a'], dest: '/b/' });
    expect(refused('CMD [1] x')).toBe('Dockerfile:2: CMD: when using JSON array syntax, arrays must be comprised of strings only');
  });

  it('EXPOSE takes words, never a JSON array (["80"] is the port "[80]", refused at dispatch)', () => {
    expect(one('EXPOSE ["80"]')).toStrictEqual({ kind: 'EXPOSE', line: 2, original: 'EXPOSE ["80"]', values: ['["80"]'], json: false });
  });

  it('VOLUME and COPY: a JSON array taken literally, else words split on blanks', () => {
    expect(one('VOLUME ["/data", "/a b"]')).toStrictEqual({ kind: 'VOLUME', line: 2, original: 'VOLUME ["/data", "/a b"]', values: ['/data', '/a b'], json: true });
    expect(one('VOLUME /data \t /logs')).toStrictEqual({ kind: 'VOLUME', line: 2, original: 'VOLUME /data \t /logs', values: ['/data', '/logs'], json: false });
    expect(one('COPY ["a b", "/c d/"]')).toMatchObject({ sources: ['a b'], dest: '/c d/' });
  });

  it('refuses a JSON array with anything but strings (errDockerfileNotStringArray), not taking it as the shell form', () => {
    const message = 'when using JSON array syntax, arrays must be comprised of strings only';
    expect(refused('CMD [1, 2]')).toBe(`Dockerfile:2: CMD: ${message}`);
    expect(refused('ENTRYPOINT ["a", null]')).toBe(`Dockerfile:2: ENTRYPOINT: ${message}`);
    expect(refused('RUN ["a", ["b"]]')).toBe(`Dockerfile:2: RUN: ${message}`);
    expect(refused('SHELL ["sh", 1]')).toBe(`Dockerfile:2: SHELL: ${message}`);
    expect(refused('COPY ["a", 1]')).toBe(`Dockerfile:2: COPY: ${message}`);
    expect(refused('VOLUME [1]')).toBe(`Dockerfile:2: VOLUME: ${message}`);
    expect(refused('HEALTHCHECK CMD [true]')).toBe(`Dockerfile:2: HEALTHCHECK: ${message}`);
  });
});

describe('COPY and ADD', () => {
  it('have only the keys of the flags given', () => {
    expect(one('COPY a b /c/')).toStrictEqual({ kind: 'COPY', line: 2, original: 'COPY a b /c/', sources: ['a', 'b'], dest: '/c/', heredocs: [], link: false });
    expect(one('COPY --from=build --chown=1:2 --chmod=0755 --link --parents --exclude=*.md --exclude=tmp a /c')).toStrictEqual({
      kind: 'COPY', line: 2, original: 'COPY --from=build --chown=1:2 --chmod=0755 --link --parents --exclude=*.md --exclude=tmp a /c',
      sources: ['a'], dest: '/c', heredocs: [], link: true, parents: true, exclude: ['*.md', 'tmp'], from: 'build', chown: '1:2', chmod: '0755',
    });
    expect(one('ADD --checksum=sha256:00 --keep-git-dir=true https://x/y /y')).toStrictEqual({
      kind: 'ADD', line: 2, original: 'ADD --checksum=sha256:00 --keep-git-dir=true https://x/y /y', sources: ['https://x/y'], dest: '/y', heredocs: [], link: false, checksum: 'sha256:00',
    });
  });

  it('refuse flags of the other one and a lone source', () => {
    expect(refused('ADD --from=x a b')).toBe('Dockerfile:2: ADD: unknown flag: --from');
    expect(refused('COPY --checksum=sha256:00 a b')).toBe('Dockerfile:2: COPY: unknown flag: --checksum');
    expect(refused('COPY --link')).toBe('Dockerfile:2: COPY: requires at least two arguments, a source and a destination');
  });
});

describe('ARG, ENV, LABEL', () => {
  it('ARG: names with and without defaults', () => {
    expect(one('ARG A B=1 C= D=x=y')).toMatchObject({ args: [{ name: 'A' }, { name: 'B', default: '1' }, { name: 'C', default: '' }, { name: 'D', default: 'x=y' }] });
    expect((one('ARG A') as Extract<Instruction, { kind: 'ARG' }>).args[0]).toStrictEqual({ name: 'A' });
    expect(refused('ARG =x')).toBe('Dockerfile:2: ARG: "=x" does not start with a valid name (letters, digits and _)');
    expect(refused('ARG 1A=x')).toBe('Dockerfile:2: ARG: "1A=x" does not start with a valid name (letters, digits and _)');
  });

  it('ENV: KEY=VALUE pairs, or the legacy KEY VALUE with the rest of the line as the value', () => {
    expect(one('ENV A b  c')).toMatchObject({ pairs: [{ key: 'A', value: 'b  c' }] });
    expect(one('ENV A b')).toMatchObject({ pairs: [{ key: 'A', value: 'b' }] });
    expect(one('ENV A= B=2')).toMatchObject({ pairs: [{ key: 'A', value: '' }, { key: 'B', value: '2' }] });
  });

  it.each([
    // parseNameVal: one word without `=` has no value; in the KEY=VALUE form every word needs a non-empty key and `=`.
    ['ENV A', 'Dockerfile:2: ENV: ENV A needs a value (write A=VALUE)'],
    ['LABEL a', 'Dockerfile:2: LABEL: LABEL a needs a value (write a=VALUE)'],
    ['ENV A=1 =b', 'Dockerfile:2: ENV: "=b" is not KEY=VALUE; every part must be (mixing the KEY VALUE form is not allowed)'],
    ['LABEL a=1 b', 'Dockerfile:2: LABEL: "b" is not KEY=VALUE; every part must be (mixing the KEY VALUE form is not allowed)'],
  ])('refuses %j', (body, message) => {
    expect(refused(body)).toBe(message);
  });
});

describe('HEALTHCHECK', () => {
  const hc = (args: string) => (one(`HEALTHCHECK ${args}`) as Extract<Instruction, { kind: 'HEALTHCHECK' }>).healthcheck;

  it('NONE, CMD in both forms, only the options given', () => {
    expect(hc('NONE')).toStrictEqual({ Test: ['NONE'] });
    expect(hc('none')).toStrictEqual({ Test: ['NONE'] });
    expect(hc('CMD curl -f http://localhost/ || exit 1')).toStrictEqual({ Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] });
    expect(hc('cmd ["/probe", "-q"]')).toStrictEqual({ Test: ['CMD', '/probe', '-q'] });
    expect(hc('--interval=1.5s --timeout=1.25s --start-period=1m30s --start-interval=1ms --retries=12 CMD x')).toStrictEqual({
      Test: ['CMD-SHELL', 'x'], Interval: 1.5e9, Timeout: 1.25e9, StartPeriod: 90e9, StartInterval: 1e6, Retries: 12,
    });
    expect(hc('--retries=1 CMD x')).toStrictEqual({ Test: ['CMD-SHELL', 'x'], Retries: 1 });
    // Go's time.ParseDuration takes a fraction without digits on one side of the point.
    expect(hc('--interval=.5s --timeout=2.s CMD x')).toStrictEqual({ Test: ['CMD-SHELL', 'x'], Interval: 0.5e9, Timeout: 2e9 });
  });

  it('reads a zero duration as the default, and an empty one too (parseOptInterval)', () => {
    expect(hc('--interval=0 --timeout=0s CMD x')).toStrictEqual({ Test: ['CMD-SHELL', 'x'], Interval: 0, Timeout: 0 });
    expect(hc('--interval= CMD x')).toStrictEqual({ Test: ['CMD-SHELL', 'x'], Interval: 0 });
  });

  it.each([
    ['NONE x', 'HEALTHCHECK NONE takes no other arguments'],
    ['echo hi', 'expects "HEALTHCHECK [OPTIONS] CMD command" or "HEALTHCHECK NONE"'],
    ['CMD', 'HEALTHCHECK CMD needs a command'],
    ['--retries=abc CMD x', '--retries must be a whole number of at least 1, not "abc"'],
    ['--retries=3x CMD x', '--retries must be a whole number of at least 1, not "3x"'],
    ['--retries=x3 CMD x', '--retries must be a whole number of at least 1, not "x3"'],
    // time.ParseDuration: a unit on every number, nothing before it, no overflow; then at least 1ms.
    ['--interval=xx1s CMD x', '--interval: "xx1s" is not a duration like 30s or 1m30s'],
    ['--interval=5 CMD x', '--interval: "5" is not a duration like 30s or 1m30s'],
    ['--timeout=.s CMD x', '--timeout: ".s" is not a duration like 30s or 1m30s'],
    ['--interval=9999999999h CMD x', '--interval: "9999999999h" is not a duration like 30s or 1m30s'],
    ['--interval=500us CMD x', '--interval cannot be less than 1ms'],
    ['--start-period=999999ns CMD x', '--start-period cannot be less than 1ms'],
  ])('refuses %j', (args, message) => {
    expect(refused(`HEALTHCHECK ${args}`)).toBe(`Dockerfile:2: HEALTHCHECK: ${message}`);
  });
});

describe('ONBUILD', () => {
  it('keeps the trigger as written once it parses as an instruction', () => {
    expect(one('ONBUILD SHELL ["/bin/bash", "-c"]')).toStrictEqual({ kind: 'ONBUILD', line: 2, original: 'ONBUILD SHELL ["/bin/bash", "-c"]', expression: 'SHELL ["/bin/bash", "-c"]' });
    expect(one('onbuild healthcheck NONE')).toMatchObject({ kind: 'ONBUILD', expression: 'healthcheck NONE' });
  });

  it.each([
    // instructions/parse.go parseOnBuild: these three are refused as triggers.
    ['ONBUILD ONBUILD RUN x', "Dockerfile:2: ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['ONBUILD FROM a', "Dockerfile:2: ONBUILD: FROM isn't allowed as an ONBUILD trigger"],
    ['ONBUILD maintainer me', "Dockerfile:2: ONBUILD: MAINTAINER isn't allowed as an ONBUILD trigger"],
  ])('refuses %j', (body, message) => {
    expect(refused(body)).toBe(message);
  });
});

describe("a base image's ONBUILD trigger", () => {
  it('parses as the instruction it is, with its heredocs', () => {
    expect(parseTrigger('run <<EOF\nx\nEOF', 4, 'Dockerfile', '\\')).toMatchObject({ kind: 'RUN', line: 4, heredocs: [{ name: 'EOF', content: 'x\n' }] });
    expect(parseTrigger('# a comment\nENV A=1', 4, 'Dockerfile', '\\')).toMatchObject({ kind: 'ENV', pairs: [{ key: 'A', value: '1' }] });
    // A backtick is no escape character by default: it ends no line continuation.
    expect(parseTrigger('RUN echo a `', 4, 'Dockerfile', '\\')).toMatchObject({ kind: 'RUN', command: { form: 'shell', text: 'echo a `' } });
  });

  it('names the trigger and the FROM line in its errors', () => {
    expect(failure(() => parseTrigger('  run <<EOF\nx', 3, 'app/Dockerfile', '\\'))).toBe('app/Dockerfile:3: ONBUILD trigger RUN of the base image: heredoc <<EOF is not closed by a line "EOF"');
    expect(failure(() => parseTrigger('COPY onlyone', 3, 'Dockerfile', '\\'))).toBe('Dockerfile:3: ONBUILD trigger COPY of the base image: requires at least two arguments, a source and a destination');
  });
});
