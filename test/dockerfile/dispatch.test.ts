// A stage's dispatch as BuildKit does it: the image config each instruction leaves, the RUN
// steps and COPY/ADD steps the native engine performs, and the one-line errors of bad input.
// Symbolic --chmod is checked against GNU chmod(1) on real files.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySymbolicMode, dispatchStage, type CopyStep, type DispatchResult, type RunStep } from '../../src/dockerfile/dispatch.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/dockerfile/stage-plan.js';
import { UsageError } from '../../src/errors.js';
import type { ContainerConfig } from '../../src/oci/manifest.js';
import { tempDir } from '../helpers/tools.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

interface Options {
  base?: ContainerConfig;
  buildArgs?: Record<string, string>;
  inheritedArgs?: ReadonlyMap<string, string>;
}

/** The last stage of `text` dispatched over a base image's config. */
function dispatch(text: string, { base = {}, buildArgs = {}, inheritedArgs }: Options = {}): DispatchResult {
  const df = parseDockerfile(text, 'Dockerfile');
  const plan = planBuild({ dockerfile: df, platform: amd64, buildPlatform: amd64, buildArgs, contextNames: new Set() });
  return dispatchStage(df, plan.target, base, inheritedArgs);
}

/** The one-line message a bad Dockerfile is refused with. */
function refusal(text: string, options?: Options): string {
  try {
    dispatch(text, options);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

const runs = (r: DispatchResult): RunStep[] => r.ops.flatMap((op) => (op.layer?.kind === 'run' ? [op.layer] : []));
const copies = (r: DispatchResult): CopyStep[] => r.ops.flatMap((op) => (op.layer?.kind === 'copy' ? [op.layer] : []));
const onlyRun = (text: string, options?: Options): RunStep => runs(dispatch(text, options))[0]!;
const onlyCopy = (text: string, options?: Options): CopyStep => copies(dispatch(text, options))[0]!;

describe('ENV', () => {
  it('replaces a key the base image sets where it stands, and appends a new one', () => {
    const base = { Env: ['A=1', 'AB=2', 'PATH=/bin'] };
    expect(dispatch('FROM img\nENV A=9\n', { base }).config.Env).toEqual(['A=9', 'AB=2', 'PATH=/bin']);
    expect(dispatch('FROM img\nENV AB=8 NEW=x\n', { base }).config.Env).toEqual(['A=1', 'AB=8', 'PATH=/bin', 'NEW=x']);
  });

  it('does not take a key for another it is a prefix or suffix of (A vs AB, B vs AB)', () => {
    expect(dispatch('FROM img\nENV A=9\n', { base: { Env: ['AB=2', 'A=1'] } }).config.Env).toEqual(['AB=2', 'A=9']);
    expect(dispatch('FROM img\nENV B=9\n', { base: { Env: ['AB=2'] } }).config.Env).toEqual(['AB=2', 'B=9']);
  });

  it('replaces a base entry that has no "=" (a name alone)', () => {
    expect(dispatch('FROM img\nENV FOO=1\n', { base: { Env: ['X=0', 'FOO'] } }).config.Env).toEqual(['X=0', 'FOO=1']);
  });

  it('sets a key twice in one stage once, the later value winning', () => {
    expect(dispatch('FROM scratch\nENV K=1\nENV K=2 K=3\n').config.Env).toEqual(['K=3']);
  });

  it('refuses a name that expands to nothing, naming the line', () => {
    expect(refusal('FROM scratch\nARG E\nENV ${E}=x\n')).toBe('Dockerfile:3: ENV: names of environment variables cannot be empty');
  });
});

describe('variables from the base image config', () => {
  it('reads an entry without "=" as set and empty, and splits an entry at its first "="', () => {
    const r = dispatch('FROM img\nLABEL set="${FOO-unset}" nonempty="${FOO:-empty}" bar=$BAR none="${NONE-unset}"\n', { base: { Env: ['FOO', 'BAR=x=y'] } });
    expect(r.config.Labels).toEqual({ set: '', nonempty: 'empty', bar: 'x=y', none: 'unset' });
  });
});

describe('ARG', () => {
  it('takes each default where it stands: an ENV between two ARGs of one name keeps the first (conformance: arg-not-inherited-by-env)', () => {
    const r = dispatch('FROM scratch\nARG V=arg\nENV E=$V\nLABEL a=$V\nARG V=again\nLABEL e=$E v=$V\nRUN env\n');
    expect(r.config.Env).toEqual(['E=arg']);
    expect(r.config.Labels).toEqual({ a: 'arg', e: 'arg', v: 'again' });
    expect(runs(r)[0]!.env).toEqual(['E=arg', 'V=again']);
    // A build arg wins over both defaults, from the first ARG on.
    const given = dispatch('FROM scratch\nARG V=arg\nENV E=$V\nARG V=again\n', { buildArgs: { V: 'cli' } });
    expect(given.config.Env).toEqual(['E=cli']);
  });

  it('leaves an ARG with no value and no default unset: not expanded, not in a RUN\'s environment', () => {
    const r = dispatch('FROM scratch\nARG NOVAL\nLABEL v="${NOVAL-unset}"\nRUN env\n');
    expect(r.config.Labels).toEqual({ v: 'unset' });
    expect(runs(r)[0]!.env).toEqual([]);
    expect([...r.args.keys()]).toEqual([]);
  });

  it('starts a stage with the ARG values of the stage it is built FROM', () => {
    const r = dispatch('FROM scratch\nRUN env\n', { inheritedArgs: new Map([['V', '1']]) });
    expect(runs(r)[0]!.env).toEqual(['V=1']);
    expect(r.args).toEqual(new Map([['V', '1']]));
  });

  it('records one history entry per instruction, nothing else', () => {
    expect(dispatch('FROM scratch\nARG A=1\nENV B=2\n').ops).toEqual([
      { createdBy: 'ARG A=1', line: 2 },
      { createdBy: 'ENV B=2', line: 3 },
    ]);
    expect(dispatch('FROM scratch\n').ops).toEqual([]);
  });
});

describe('RUN', () => {
  it('runs the shell form behind /bin/sh -c, in / as the image user, with an empty environment', () => {
    expect(onlyRun('FROM scratch\nRUN echo $HOME\n')).toStrictEqual({ kind: 'run', line: 2, argv: ['/bin/sh', '-c', 'echo $HOME'], env: [], workdir: '/', user: '', flags: [] });
  });

  it('runs the exec form as written, SHELL or not, and the shell form behind the SHELL in effect', () => {
    const r = dispatch('FROM scratch\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN ["echo", "a b"]\nRUN echo a | cat\n');
    expect(runs(r).map((s) => s.argv)).toEqual([['echo', 'a b'], ['/bin/bash', '-o', 'pipefail', '-c', 'echo a | cat']]);
  });

  it('passes the ENV in effect, then the ARGs no ENV names (an ENV shadows an ARG)', () => {
    const r = dispatch('FROM img\nARG A=arg\nARG B=2\nENV A=env\nRUN env\n', { base: { Env: ['PATH=/bin'] } });
    expect(runs(r)[0]!.env).toEqual(['PATH=/bin', 'A=env', 'B=2']);
  });

  it('runs in the WORKDIR as the USER in effect, with its flags expanded', () => {
    const step = onlyRun('FROM scratch\nARG NET=none\nWORKDIR /app\nUSER app:staff\nRUN --network=$NET make\n');
    expect(step).toMatchObject({ workdir: '/app', user: 'app:staff', flags: ['--network=none'], env: ['NET=none'] });
  });

  it('gives a complex heredoc to the shell whole: the line, then each body and its closing name', () => {
    expect(onlyRun('FROM scratch\nRUN cat <<EOF > /x\nhello\nEOF\n').argv).toEqual(['/bin/sh', '-c', 'cat <<EOF > /x\nhello\nEOF']);
    expect(onlyRun('FROM scratch\nRUN cat <<A <<B\na\nA\nb\nB\n').argv).toEqual(['/bin/sh', '-c', 'cat <<A <<B\na\nA\nb\nB']);
  });

  it('runs a heredoc that is the whole command as a script in the shell (BuildKit\'s "simple heredoc")', () => {
    expect(onlyRun('FROM scratch\nRUN <<EOF\necho one\necho two\nEOF\n').argv).toEqual(['/bin/sh', '-c', 'echo one\necho two\n']);
    expect(onlyRun('FROM scratch\nSHELL ["/bin/bash", "-c"]\nRUN <<-EOT\n\techo hi\n\tEOT\n').argv).toEqual(['/bin/bash', '-c', 'echo hi\n']);
  });

  it('runs a #! heredoc with the interpreter its first line names (one argument after it, as Linux passes it), whatever the body holds', async () => {
    const { dir, cleanup } = await tempDir('berth-shebang-');
    const out = join(dir, 'out');
    // perl and sh stand in for any interpreter; the argv is what the RUN step runs.
    const perl = onlyRun(`FROM scratch\nRUN <<EOF\n#!/usr/bin/perl -w\nopen(my $f, '>', '${out}') or die; print $f "perl $0 @ARGV\\n";\nEOF\n`).argv;
    execFileSync(perl[0]!, perl.slice(1));
    expect(readFileSync(out, 'utf8')).toBe('perl /dev/stdin \n');
    // A body holding the end marker berth would pick, and a quote; -e makes the failing line fatal.
    const sh = onlyRun(`FROM scratch\nRUN <<EOF\n#!/bin/sh -e\necho "it's" > ${out}\necho BERTH_SCRIPT >> ${out}\nfalse\necho after >> ${out}\nEOF\n`).argv;
    expect(() => execFileSync(sh[0]!, sh.slice(1), { stdio: 'ignore' })).toThrow();
    expect(readFileSync(out, 'utf8')).toBe("it's\nBERTH_SCRIPT\n");
    await cleanup();
  });
});

describe('CMD and ENTRYPOINT', () => {
  it('clears an inherited CMD when ENTRYPOINT is set', () => {
    expect(dispatch('FROM img\nENTRYPOINT ["/app"]\n', { base: { Cmd: ['inherited'] } }).config).toEqual({ Entrypoint: ['/app'], Cmd: null });
  });

  it('keeps a CMD this stage set before the ENTRYPOINT, and one set after it', () => {
    expect(dispatch('FROM img\nCMD ["--flag"]\nENTRYPOINT ["/app"]\n', { base: { Cmd: ['inherited'] } }).config).toEqual({ Cmd: ['--flag'], Entrypoint: ['/app'] });
    expect(dispatch('FROM img\nENTRYPOINT /app\nCMD --flag\n').config).toEqual({ Entrypoint: ['/bin/sh', '-c', '/app'], Cmd: ['/bin/sh', '-c', '--flag'] });
  });
});

describe('config instructions', () => {
  it('MAINTAINER sets the image author; without it there is no author', () => {
    expect(dispatch('FROM scratch\nMAINTAINER Jane <jane@example.com>\n').author).toBe('Jane <jane@example.com>');
    expect(dispatch('FROM scratch\nLABEL a=b\n')).not.toHaveProperty('author');
  });

  it('HEALTHCHECK sets the healthcheck and nothing else', () => {
    expect(dispatch('FROM scratch\nHEALTHCHECK CMD true\n').config).toEqual({ Healthcheck: { Test: ['CMD-SHELL', 'true'] } });
  });

  it('VOLUME trims each path and refuses an empty one, naming the line', () => {
    expect(dispatch('FROM scratch\nVOLUME [" /data ", "/logs"]\n').config.Volumes).toEqual({ '/data': {}, '/logs': {} });
    expect(refusal('FROM scratch\nLABEL a=b\nVOLUME ["/ok", " "]\n')).toBe('Dockerfile:3: VOLUME: a volume path cannot be empty');
  });
});

describe('WORKDIR', () => {
  it('resolves a relative path against the previous WORKDIR, or / when there is none', () => {
    expect(dispatch('FROM scratch\nWORKDIR rel\n').config.WorkingDir).toBe('/rel');
    expect(dispatch('FROM scratch\nWORKDIR /a\nWORKDIR b/../c\n').config.WorkingDir).toBe('/a/c');
  });

  it('records an absolute path as written, a relative one joined and cleaned (BuildKit; conformance: workdir-trailing-slash)', () => {
    const r = dispatch('FROM scratch\nWORKDIR /app/\n');
    expect(r.config.WorkingDir).toBe('/app/');
    expect(r.ops.map((op) => op.layer)).toStrictEqual([{ kind: 'workdir', path: '/app', line: 2 }]);
    expect(dispatch('FROM scratch\nWORKDIR /app/\nWORKDIR sub/\n').config.WorkingDir).toBe('/app/sub');
    expect(onlyCopy('FROM scratch\nWORKDIR /app/\nCOPY a ./\n')).toMatchObject({ dest: '/app', destIsDir: true });
  });

  it('creates the folder, owned by the USER in effect when there is one', () => {
    const r = dispatch('FROM scratch\nWORKDIR /a\nUSER app\nWORKDIR /b\n');
    expect(r.ops.map((op) => op.layer)).toStrictEqual([{ kind: 'workdir', path: '/a', line: 2 }, undefined, { kind: 'workdir', path: '/b', line: 4, user: 'app' }]);
  });

  it('refuses a path that expands to nothing, naming the line', () => {
    expect(refusal('FROM scratch\nARG E=\nWORKDIR $E\n')).toBe('Dockerfile:3: WORKDIR: cannot be empty');
  });
});

describe('STOPSIGNAL', () => {
  // BuildKit checks it with moby/sys/signal's ParseSignal: Go's Atoi, else the name upper-cased, one SIG trimmed, in Linux's signal map.
  it.each(['SIGTERM', 'TERM', 'sigterm', 'Term', 'SIGKILL', 'USR1', '9', '15', '+9', '-9', '9223372036854775807', 'SIGRTMIN', 'SIGRTMIN+3', 'sigrtmin+15', 'RTMAX-14', 'RTMAX-1', 'RTMAX', 'SIGWINCH', '${SIG:-SIGINT}'])('accepts %s as written', (signal) => {
    expect(dispatch(`FROM scratch\nSTOPSIGNAL ${signal}\n`).config.StopSignal).toBe(signal === '${SIG:-SIGINT}' ? 'SIGINT' : signal);
  });

  it.each(['0', '00', '-0', '9223372036854775808', 'SIGFOO', 'SIG', 'SIGSIGTERM', 'x9', '9x', '9.0', 'XTERM', 'TERMX', 'SIGRTMIN+16', 'RTMAX-15', 'RTMIN+0', 'SIG TERM', ' TERM'])('refuses %j, naming the line', (signal) => {
    expect(refusal(`FROM scratch\nSTOPSIGNAL "${signal}"\n`)).toBe(`Dockerfile:2: STOPSIGNAL: "${signal}" is not a signal name or number`);
  });
});

describe('EXPOSE', () => {
  it('records each port with its protocol (tcp unless given, any case), ranges expanded', () => {
    expect(dispatch('FROM scratch\nEXPOSE 1 65535 80/UDP 53/sctp 8000-8002/tcp 8000\n').config.ExposedPorts).toEqual({
      '1/tcp': {}, '65535/tcp': {}, '80/udp': {}, '53/sctp': {}, '8000/tcp': {}, '8001/tcp': {}, '8002/tcp': {},
    });
  });

  it('expands a range of up to 1025 ports (berth refuses larger ones)', () => {
    expect(Object.keys(dispatch('FROM scratch\nEXPOSE 1-1025/udp\n').config.ExposedPorts!)).toHaveLength(1025);
    expect(refusal('FROM scratch\nEXPOSE 1-1026\n')).toBe('Dockerfile:2: EXPOSE: "1-1026": a range of more than 1024 ports');
  });

  it.each(['0', '65536', '0-10', '65530-65536', '90-80'])('refuses %s: ports run from 1 to 65535', (spec) => {
    expect(refusal(`FROM scratch\nEXPOSE ${spec}\n`)).toBe(`Dockerfile:2: EXPOSE: "${spec}": ports run from 1 to 65535`);
  });

  it.each(['x80', '80x', '80/tcpx', '80/icmp', '80-', '-80', '80/'])('refuses %s: not PORT[-PORT][/PROTO]', (spec) => {
    expect(refusal(`FROM scratch\nEXPOSE 443 ${spec}\n`)).toBe(`Dockerfile:2: EXPOSE: "${spec}" is not PORT[-PORT][/PROTO]`);
  });
});

describe('COPY and ADD destinations', () => {
  it.each([
    ['/x', '/x', false],
    ['/.hidden', '/.hidden', false],
    ['/x/', '/x', true],
    ['/x/.', '/x', true],
    ['.', '/app', true],
    ['./', '/app', true],
    ['sub', '/app/sub', false],
    ['..', '/', true],
    ['/tmp/..', '/', true],
  ])('COPY a %s in /app: %s, a folder: %s', (dest, abs, isDir) => {
    expect(onlyCopy(`FROM scratch\nWORKDIR /app\nCOPY a ${dest}\n`)).toMatchObject({ dest: abs, destIsDir: isDir });
  });

  it('resolves a relative destination against / when there is no WORKDIR', () => {
    expect(onlyCopy('FROM scratch\nCOPY a rel\n')).toMatchObject({ dest: '/rel', destIsDir: false });
    expect(onlyCopy('FROM scratch\nADD a rel/\n')).toMatchObject({ dest: '/rel', destIsDir: true });
  });

  it('leaves several sources onto a name without / to the copy, which takes them only into an existing folder', () => {
    expect(onlyCopy('FROM scratch\nCOPY a b /dst\n')).toMatchObject({ sources: ['a', 'b'], dest: '/dst', destIsDir: false });
    expect(onlyCopy('FROM scratch\nCOPY a <<EOF /dst\nhi\nEOF\n')).toMatchObject({ sources: ['a'], inline: [{ name: 'EOF', content: 'hi\n' }], dest: '/dst', destIsDir: false });
    expect(onlyCopy('FROM scratch\nWORKDIR /w\nCOPY a b .\n')).toMatchObject({ dest: '/w', destIsDir: true });
  });

  it('copies from the build context unless --from names another source', () => {
    expect(onlyCopy('FROM scratch\nCOPY a /x\n')).toStrictEqual({ kind: 'copy', add: false, line: 2, from: { kind: 'build-context' }, sources: ['a'], inline: [], dest: '/x', destIsDir: false });
  });

  it('refuses a destination that expands to nothing, naming the line', () => {
    expect(refusal('FROM scratch\nARG E\nADD a $E\n')).toBe('Dockerfile:3: ADD: the destination is empty');
  });
});

describe('COPY --chown and --chmod', () => {
  it('takes USER or USER:GROUP, and refuses a group without a user', () => {
    expect(onlyCopy('FROM scratch\nCOPY --chown=app a /x\n').chown).toStrictEqual({ user: 'app' });
    expect(onlyCopy('FROM scratch\nCOPY --chown=app:staff a /x\n').chown).toStrictEqual({ user: 'app', group: 'staff' });
    expect(refusal('FROM scratch\nCOPY --chown=:1000 a /x\n')).toBe('Dockerfile:2: COPY: --chown needs a user');
  });

  it('takes an octal mode of 3 or 4 digits as the mode, a symbolic one as a change to each entry\'s mode', () => {
    expect(onlyCopy('FROM scratch\nCOPY --chmod=0755 a /x\n')).toMatchObject({ chmod: 0o755 });
    expect(onlyCopy('FROM scratch\nCOPY --chmod=640 a /x\n')).toMatchObject({ chmod: 0o640 });
    const symbolic = onlyCopy('FROM scratch\nCOPY --chmod=u+x,go-w a /x\n');
    expect(symbolic.chmodSymbolic).toBe('u+x,go-w');
    expect(symbolic).not.toHaveProperty('chmod');
  });

  it.each(['x755', '755x', '888', '75', 'u+q', 'rwx', 'u+x,', '+x,,g-w'])('refuses --chmod=%s, naming the line', (mode) => {
    expect(refusal(`FROM scratch\nCOPY --chmod=${mode} a /x\n`)).toBe(`Dockerfile:2: COPY: --chmod=${mode}: give an octal mode such as 755 or 0644, or a symbolic one such as u+x,go-w`);
  });
});

describe('ADD --checksum', () => {
  const sum = `sha256:${'0123456789abcdef'.repeat(4)}`;

  it('keeps a sha256 digest to check the download against', () => {
    expect(onlyCopy(`FROM scratch\nADD --checksum=${sum} https://example.com/f /f\n`)).toMatchObject({ add: true, checksum: sum });
  });

  it.each(['sha256:abc', `x${sum}`, `${sum}0`, sum.toUpperCase(), `sha256:${'g'.repeat(64)}`, `sha512:${'0'.repeat(64)}`])('refuses --checksum=%s', (bad) => {
    expect(refusal(`FROM scratch\nADD --checksum=${bad} https://example.com/f /f\n`)).toBe(`Dockerfile:2: ADD: --checksum=${bad}: give sha256:<64 hex digits>`);
  });
});

describe('symbolic --chmod, as GNU chmod computes it', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('berth-chmod-'));
    writeFileSync(join(dir, 'f'), '');
    mkdirSync(join(dir, 'd'));
  });
  afterAll(async () => cleanup());

  /** GNU chmod's result on a real file or folder, umask 0 (berth, as BuildKit, ignores the umask). */
  function gnuChmod(spec: string, mode: number, isDir: boolean): number {
    const path = join(dir, isDir ? 'd' : 'f');
    chmodSync(path, mode);
    execFileSync('sh', ['-c', 'umask 0 && exec chmod -- "$1" "$2"', 'sh', spec, path]);
    return statSync(path).mode & 0o7777;
  }

  it.each([
    ['u+x', '644', false, '744'],
    ['g-w', '664', false, '644'],
    ['a=rX', '700', true, '555'],
    ['a=rX', '600', false, '444'],
    ['a=rX', '610', false, '555'],
    ['o=u', '750', false, '757'],
    ['g=u', '700', false, '770'],
    ['go=u-w', '700', false, '755'],
    ['+X', '644', false, '644'],
    ['+X', '644', true, '755'],
    ['u+t,o+s', '644', false, '644'],
    ['+t', '755', true, '1755'],
    ['u+s', '755', false, '4755'],
    ['go-rwx', '777', false, '700'],
    ['u=rwX,go=rX', '640', false, '644'],
    ['u=rwX,go=rX', '700', true, '755'],
  ] as [string, string, boolean, string][])('%s on %s (a folder: %s) gives %s', (spec, mode, isDir, want) => {
    expect(applySymbolicMode(spec, parseInt(mode, 8), isDir).toString(8)).toBe(want);
    expect(gnuChmod(spec, parseInt(mode, 8), isDir).toString(8)).toBe(want);
  });

  it('agrees with GNU chmod on generated modes', () => {
    // GNU keeps a folder's set-user/group-ID bits through `=` unless the clause names `s` (a GNU
    // rule; BSD's setmode, which BuildKit uses, does not), so folders are drawn without them.
    const clause = (perms: string) =>
      fc.tuple(
        fc.subarray(['u', 'g', 'o', 'a']).map((w) => w.join('')),
        fc.array(fc.tuple(fc.constantFrom('+', '-', '='), fc.oneof(fc.subarray([...perms]).map((p) => p.join('')), fc.constantFrom('u', 'g', 'o'))), { minLength: 1, maxLength: 3 }),
      ).map(([who, actions]) => who + actions.map(([op, p]) => op + p).join(''));
    const spec = (perms: string) => fc.array(clause(perms), { minLength: 1, maxLength: 3 }).map((c) => c.join(','));
    const file = fc.tuple(spec('rwxXst'), fc.integer({ min: 0, max: 0o7777 }), fc.constant(false));
    const folder = fc.tuple(spec('rwxXt'), fc.integer({ min: 0, max: 0o1777 }), fc.constant(true));
    fc.assert(
      fc.property(fc.oneof(file, folder), ([s, mode, isDir]) => {
        expect(applySymbolicMode(s, mode, isDir).toString(8)).toBe(gnuChmod(s, mode, isDir).toString(8));
      }),
      { numRuns: 200 }, // a fixed count: every run tries as many cases
    );
  });
});
