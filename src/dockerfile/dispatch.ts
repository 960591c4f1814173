import { posix } from 'node:path';
import type { ContainerConfig } from '../oci/manifest.js';
import { dockerfileError } from './dockerfile-error.js';
import type { CommandLine, CopyInstruction, Dockerfile, Instruction } from './instructions.js';
import { LexError, processWord, processWords } from './lex.js';
import { parseTrigger } from './parse.js';
import type { PlannedStage, Source } from './stage-plan.js';
import { heredocMark } from './syntax.js';

/** A COPY or ADD with every word expanded and the destination made absolute. */
export interface CopyStep {
  kind: 'copy';
  add: boolean;
  line: number;
  from: Source | { kind: 'build-context' };
  /** Source paths as written after expansion (relative to the context or the stage's root), or URLs for ADD. */
  sources: string[];
  /** Inline files (heredocs): name and content. */
  inline: { name: string; content: string }[];
  /** Absolute destination; `destIsDir` when it ends in '/' or '.' (or --parents). */
  dest: string;
  destIsDir: boolean;
  chown?: { user: string; group?: string };
  chmod?: number;
  /** A symbolic --chmod (`u+x,go-w`), applied to each copied entry's own mode; `chmod` is then unset. */
  chmodSymbolic?: string;
  checksum?: string;
  /** --exclude patterns (expanded), matched as .dockerignore lines against paths below each source. */
  exclude?: string[];
  /** --parents: each source's path (below a `/./` pivot) is kept under the destination. */
  parents?: boolean;
}

/** One history entry of the image and, for COPY/ADD/WORKDIR, the layer it makes. */
export interface Op {
  createdBy: string;
  line: number;
  layer?: CopyStep | { kind: 'workdir'; path: string; line: number; user?: string } | RunStep;
}

/** A RUN with what it runs in: the config and ARGs in effect at its line, its flags expanded. */
export interface RunStep {
  kind: 'run';
  line: number;
  /** The command: exec form as written, shell form behind the SHELL in effect. */
  argv: string[];
  /** ENV in effect, then ARGs in scope that no ENV names (as BuildKit passes them). */
  env: string[];
  workdir: string;
  user: string;
  /** `--mount=...`, `--network=...` with ARGs expanded. */
  flags: string[];
}

export interface DispatchResult {
  config: ContainerConfig;
  ops: Op[];
  author?: string;
  /** The stage's ARG values at its end: a stage built FROM this one starts with them (BuildKit). */
  args: Map<string, string>;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * Walks a stage's instructions with Docker's scoping (ARGs, then ENV over them; a base
 * image's ONBUILD triggers first) and returns the stage's container config and the ordered
 * history/layer operations. Pure: the native engine performs the layer operations.
 */
export function dispatchStage(df: Dockerfile, planned: PlannedStage, baseConfig: ContainerConfig, inheritedArgs?: ReadonlyMap<string, string>): DispatchResult {
  const err = (line: number, what: string) => dockerfileError(df.file, line, what);
  const config: ContainerConfig = structuredClone(baseConfig);
  const triggers = (config.OnBuild as string[] | undefined) ?? [];
  delete config.OnBuild;
  const instructions: Instruction[] = [...triggers.map((t) => parseTrigger(t, planned.stage.from.line, df.file, df.escape)), ...planned.stage.instructions];

  const args = new Map<string, string>(inheritedArgs ?? []);
  const ops: Op[] = [];
  let cmdSet = false;
  let author: string | undefined;
  // Rebuilt only after an ARG or ENV (once per instruction would make long Dockerfiles quadratic).
  let scope: Map<string, string> | undefined;
  const vars = () => {
    if (scope) return scope;
    const v = new Map(args);
    for (const e of config.Env ?? []) {
      const eq = e.indexOf('=');
      v.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
    }
    return (scope = v);
  };
  const lexed = <T>(ins: Instruction, lex: () => T): T => {
    try {
      return lex();
    } catch (e) {
      if (e instanceof LexError) throw err(ins.line, `${ins.kind}: ${e.message}`);
      throw e;
    }
  };
  const word = (ins: Instruction, text: string) => lexed(ins, () => processWord(text, vars(), df.escape));
  const words = (ins: Instruction, text: string) => lexed(ins, () => processWords(text, vars(), df.escape));
  const shellForm = (cmd: CommandLine) => (cmd.form === 'exec' ? cmd.argv : [...((config.Shell as string[] | undefined) ?? DEFAULT_SHELL), cmd.text]);
  const note = (ins: Instruction, layer?: Op['layer']) => ops.push({ createdBy: ins.original, line: ins.line, ...(layer ? { layer } : {}) });

  for (const ins of instructions) {
    switch (ins.kind) {
      case 'ARG':
        for (const { name, default: def } of ins.args) {
          const known = planned.argValues.get(name);
          const value = known ?? (def !== undefined ? word(ins, def) : planned.metaArgs.get(name));
          if (value !== undefined) args.set(name, value);
          scope = undefined;
        }
        note(ins);
        break;
      case 'ENV': {
        const pairs = ins.pairs.map((p) => [word(ins, p.key), word(ins, p.value)] as const);
        const env = [...(config.Env ?? [])];
        for (const [key, value] of pairs) {
          if (key === '') throw err(ins.line, 'ENV: names of environment variables cannot be empty');
          const at = env.findIndex((e) => e === key || e.startsWith(`${key}=`));
          if (at >= 0) env[at] = `${key}=${value}`;
          else env.push(`${key}=${value}`);
          config.Env = env;
        }
        scope = undefined;
        note(ins);
        break;
      }
      case 'LABEL': {
        const labels = (config.Labels ??= {}); // the config is this stage's own copy
        for (const p of ins.pairs) labels[word(ins, p.key)] = word(ins, p.value);
        note(ins);
        break;
      }
      case 'USER':
        config.User = word(ins, ins.value);
        note(ins);
        break;
      case 'WORKDIR': {
        const dir = word(ins, ins.value);
        if (dir === '') throw err(ins.line, 'WORKDIR: cannot be empty');
        const path = posix.resolve(config.WorkingDir || '/', dir);
        // An absolute one is kept as written (`/app/`), a relative one joined and cleaned, as BuildKit records them.
        config.WorkingDir = dir.startsWith('/') ? dir : path;
        note(ins, { kind: 'workdir', path, line: ins.line, ...(config.User ? { user: config.User } : {}) });
        break;
      }
      case 'STOPSIGNAL': {
        const signal = word(ins, ins.value);
        if (!isStopSignal(signal)) throw err(ins.line, `STOPSIGNAL: "${signal}" is not a signal name or number`);
        config.StopSignal = signal;
        note(ins);
        break;
      }
      case 'MAINTAINER':
        author = word(ins, ins.value);
        note(ins);
        break;
      case 'EXPOSE': {
        const ports = (config.ExposedPorts ??= {});
        for (const spec of ins.values.flatMap((v) => words(ins, v))) for (const p of expandPorts(spec, (what) => err(ins.line, `EXPOSE: ${what}`))) ports[p] = {};
        note(ins);
        break;
      }
      case 'VOLUME': {
        const volumes = (config.Volumes ??= {});
        for (const v of ins.values) {
          const path = word(ins, v).trim();
          if (path === '') throw err(ins.line, 'VOLUME: a volume path cannot be empty');
          volumes[path] = {};
        }
        note(ins);
        break;
      }
      case 'CMD':
        config.Cmd = shellForm(ins.command);
        cmdSet = true;
        note(ins);
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = shellForm(ins.command);
        if (!cmdSet) config.Cmd = null;
        note(ins);
        break;
      case 'SHELL':
        config.Shell = ins.argv;
        note(ins);
        break;
      case 'HEALTHCHECK':
        config.Healthcheck = ins.healthcheck;
        note(ins);
        break;
      case 'ONBUILD':
        config.OnBuild = [...((config.OnBuild as string[] | undefined) ?? []), ins.expression];
        note(ins);
        break;
      case 'RUN': {
        const env = [...(config.Env ?? [])];
        const named = new Set(env.map((e) => e.split('=')[0]));
        for (const [k, v] of args) if (!named.has(k)) env.push(`${k}=${v}`);
        const argv = ins.command.form === 'exec' ? ins.command.argv : [...((config.Shell as string[] | undefined) ?? DEFAULT_SHELL), runText(ins)];
        note(ins, { kind: 'run', line: ins.line, argv, env, workdir: config.WorkingDir || '/', user: config.User ?? '', flags: ins.flags.map((f) => word(ins, f)) });
        break;
      }
      case 'COPY':
      case 'ADD':
        note(ins, copyStep(ins, planned, config.WorkingDir || '/', (t) => word(ins, t), err));
        break;
      case 'FROM':
        throw err(ins.line, 'FROM inside a stage');
      default: {
        // A new kind of instruction in instructions.ts fails to compile here until it is dispatched.
        const unhandled: never = ins;
        throw new Error(`no dispatch for ${(unhandled as Instruction).kind}`);
      }
    }
  }
  return { config, ops, ...(author !== undefined ? { author } : {}), args };
}

/**
 * A shell-form RUN's text, heredoc bodies appended as the shell reads them. A command that is
 * one heredoc alone (`RUN <<EOF`) runs that heredoc's body as the script, as BuildKit does (the
 * shell would read `<<EOF` as a redirection of no command and run nothing).
 */
function runText(ins: Extract<Instruction, { kind: 'RUN' }>): string {
  const text = (ins.command as { text: string }).text;
  if (!ins.heredocs.length) return text;
  const only = ins.heredocs.length === 1 ? ins.heredocs[0]! : undefined;
  if (only && heredocMark(text.trim())?.name === only.name) return only.content.startsWith('#!') ? shebangScript(only.content) : only.content;
  return [text, ...ins.heredocs.map((h) => `${h.content}${h.content.endsWith('\n') ? '' : '\n'}${h.name}`)].join('\n');
}

/**
 * BuildKit runs a `RUN <<EOF` body that starts with `#!` as an executable file; here the shell
 * hands it to the interpreter its first line names, on standard input (`/dev/stdin` is the
 * script's name, where BuildKit's is `/dev/pipes/EOF`). As on Linux, what follows the
 * interpreter on that line is one argument.
 */
function shebangScript(body: string): string {
  const line = body.split('\n', 1)[0]!.slice(2).trim();
  const space = line.search(/[ \t]/);
  const interpreter = space < 0 ? [line] : [line.slice(0, space), line.slice(space).trim()];
  const lines = new Set(body.split('\n'));
  let end = 'BERTH_SCRIPT';
  while (lines.has(end)) end += '_';
  const quote = (w: string): string => `'${w.replaceAll("'", `'\\''`)}'`;
  return `${[...interpreter, '/dev/stdin'].map(quote).join(' ')} <<'${end}'\n${body}${body.endsWith('\n') ? '' : '\n'}${end}`;
}

function copyStep(ins: CopyInstruction, planned: PlannedStage, workdir: string, word: (t: string) => string, err: (line: number, what: string) => Error): CopyStep {
  const inline: CopyStep['inline'] = [];
  const sources: string[] = [];
  for (const s of ins.sources) {
    const mark = heredocMark(s);
    const heredoc = mark ? ins.heredocs.find((h) => h.name === mark.name) : undefined;
    if (heredoc) inline.push({ name: heredoc.name, content: heredoc.quoted ? heredoc.content : word(heredoc.content) });
    else sources.push(word(s));
  }
  const destWord = word(ins.dest);
  if (destWord === '') throw err(ins.line, `${ins.kind}: the destination is empty`);
  // Several sources onto a name without '/' is refused where the copy sees the destination
  // (an existing folder takes them, as in BuildKit); Docker's classic builder refuses it always.
  const destIsDir = /(^|\/)\.?$/.test(destWord) || destWord.endsWith('/.');
  const dest = posix.resolve(workdir, destWord);
  const step: CopyStep = {
    kind: 'copy',
    add: ins.kind === 'ADD',
    line: ins.line,
    from: planned.copyFrom.get(ins) ?? { kind: 'build-context' },
    sources,
    inline,
    dest,
    destIsDir: destIsDir || dest === '/',
  };
  if (ins.chown !== undefined) {
    const [user = '', group] = word(ins.chown).split(':');
    if (user === '') throw err(ins.line, `${ins.kind}: --chown needs a user`);
    step.chown = group === undefined ? { user } : { user, group };
  }
  if (ins.chmod !== undefined) {
    const mode = word(ins.chmod);
    if (/^[0-7]{3,4}$/.test(mode)) step.chmod = parseInt(mode, 8);
    else if (SYMBOLIC_MODE.test(mode)) step.chmodSymbolic = mode;
    else throw err(ins.line, `${ins.kind}: --chmod=${mode}: give an octal mode such as 755 or 0644, or a symbolic one such as u+x,go-w`);
  }
  if (ins.exclude) step.exclude = ins.exclude.map((e) => word(e));
  if (ins.parents) {
    step.parents = true;
    step.destIsDir = true;
  }
  if (ins.checksum !== undefined) {
    const sum = word(ins.checksum);
    if (!/^sha256:[0-9a-f]{64}$/.test(sum)) throw err(ins.line, `ADD: --checksum=${sum}: give sha256:<64 hex digits>`);
    step.checksum = sum;
  }
  return step;
}

/** chmod(1)'s symbolic modes, as BuildKit takes them in --chmod. */
const SYMBOLIC_MODE = /^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*$/;

/** A symbolic mode applied to `mode` (of a folder when `dir`: `X` then means x), as chmod(1) does; umask ignored. */
export function applySymbolicMode(spec: string, mode: number, dir: boolean): number {
  let m = mode & 0o7777;
  for (const clause of spec.split(',')) {
    const who = /^[ugoa]*/.exec(clause)![0];
    const mask = (who === '' || who.includes('a') ? 0o7777 : 0)
      | (who.includes('u') ? 0o4700 : 0) | (who.includes('g') ? 0o2070 : 0) | (who.includes('o') ? 0o1007 : 0);
    // [ugo] tried first: `[rwxXst]*` matches the empty string before a `u` too (`g=u` read as `g=`).
    for (const [, op, perms] of clause.slice(who.length).matchAll(/([-+=])([ugo]|[rwxXst]*)/g)) {
      let bits = 0;
      if (perms === 'u' || perms === 'g' || perms === 'o') {
        const shift = perms === 'u' ? 6 : perms === 'g' ? 3 : 0;
        const p = (m >> shift) & 7;
        bits = (p << 6) | (p << 3) | p;
      } else {
        for (const c of perms!) {
          if (c === 'r') bits |= 0o444;
          else if (c === 'w') bits |= 0o222;
          else if (c === 'x' || (c === 'X' && (dir || (m & 0o111) !== 0))) bits |= 0o111;
          else if (c === 's') bits |= 0o6000;
          else if (c === 't') bits |= 0o1000;
        }
      }
      bits &= mask;
      if (op === '+') m |= bits;
      else if (op === '-') m &= ~bits;
      else m = (m & ~(mask & 0o7777)) | bits;
    }
  }
  return m;
}

/** Linux's signal names, as moby/sys/signal's SignalMap has them. */
const SIGNAL_NAMES = new Set([
  ...['ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP'],
  ...['SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX'],
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/**
 * A STOPSIGNAL BuildKit accepts (moby/sys/signal's ParseSignal): a number other than 0 (Go's
 * Atoi: an optional sign, 64 bits), or a signal's name in any case, with or without `SIG`.
 */
function isStopSignal(signal: string): boolean {
  if (/^[+-]?\d+$/.test(signal)) {
    const n = BigInt(signal);
    return n !== 0n && n >= -(2n ** 63n) && n < 2n ** 63n;
  }
  const name = signal.toUpperCase();
  return SIGNAL_NAMES.has(name.startsWith('SIG') ? name.slice(3) : name);
}

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`, ... (ranges expanded, as Docker records them). */
function expandPorts(spec: string, bad: (what: string) => Error): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw bad(`"${spec}" is not PORT[-PORT][/PROTO]`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw bad(`"${spec}": ports run from 1 to 65535`);
  if (hi - lo > 1024) throw bad(`"${spec}": a range of more than 1024 ports`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}
