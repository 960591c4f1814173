/**
 * Every program berth starts goes through this module. Three ways, one per kind of child:
 *
 * - `runChild`, for long programs (buildah, docker build, build_binaries) and everything they
 *   start in turn: each runs in a process group of its own, registered here while it lives,
 *   so that berth can end it whole — its group and every descendant found under /proc, which
 *   catches what left the group (setsid) — when its build is cancelled, and all of them before
 *   it exits on SIGINT or SIGTERM (removeScratchOnSignals). Nothing berth started outlives it.
 * - `runCapture`, for short programs whose answer berth reads (engine probes, credential
 *   helpers, a decompressor): output captured, a timeout, never in the way of a signal.
 * - `captureLean`, the one exception to execa: git for the status path Bazel runs before every
 *   build (status/git.ts), where loading execa costs more than all the git calls together
 *   (docs/performance.md) and the status bundle must stay small. It uses node:child_process,
 *   loaded on its first call.
 *
 * `runChild` and `runCapture` are on execa (the project's brief names it; pinned to 9, whose
 * next major needs Node 22). execa does process groups cleanly: `detached: true` makes the
 * child a group leader and its pid is the group's id, which is all the tree ending below needs;
 * line streaming reads its stdout and stderr as plain streams (`buffer: false`). execa is
 * imported on the first call, so a command that starts no program never loads it.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ChildrenState {
  pids: Set<number>;
}
// One state per process, shared by berth's bundles (as scratch.ts's).
const state: ChildrenState = ((globalThis as { [k: symbol]: ChildrenState })[Symbol.for('berth.children')] ??= { pids: new Set() });

/**
 * Registers `pid`, the leader of a process group berth started (spawned with `detached: true`),
 * until the returned function is called (when it has exited).
 */
export function trackChild(pid: number): () => void {
  state.pids.add(pid);
  return () => state.pids.delete(pid);
}

/** Every process below `root` (children, grandchildren...), read from /proc; empty where there is none. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(e), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [child, pp] of parent) {
      if (pp === p && !out.includes(child)) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    // A zombie is dead but still listed: its state letter is Z.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

function signalTree(leader: number, signal: NodeJS.Signals, known: Set<number>): void {
  for (const p of descendants(leader)) known.add(p);
  try {
    process.kill(-leader, signal);
  } catch {
    // No such group any more.
  }
  for (const p of known) {
    try {
      process.kill(p, signal);
    } catch {
      // Already gone.
    }
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Ends the process trees of `leaders` at once: SIGTERM to each group and each descendant,
 * then SIGKILL to whatever still lives after `graceMs`. Synchronous (usable in a signal
 * handler); returns when every one is gone or after another 5 s.
 */
export function endTreesSync(leaders: readonly number[], graceMs = 2000): void {
  const known = new Map<number, Set<number>>(leaders.map((l) => [l, new Set([l])]));
  for (const [l, k] of known) signalTree(l, 'SIGTERM', k);
  const living = () => [...known.values()].flatMap((k) => [...k]).filter(alive);
  for (let waited = 0; waited < graceMs && living().length; waited += 50) sleepSync(50);
  for (const [l, k] of known) signalTree(l, 'SIGKILL', k);
  for (let waited = 0; waited < 5000 && living().length; waited += 50) sleepSync(50);
}

/**
 * Ends one process tree without blocking: SIGTERM, then SIGKILL after `graceMs`; resolves
 * when the leader and every descendant seen are gone (or 5 s after the SIGKILL).
 */
export async function endTree(leader: number, graceMs = 2000): Promise<void> {
  const known = new Set([leader]);
  signalTree(leader, 'SIGTERM', known);
  const living = () => [...known].filter(alive);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let waited = 0; waited < graceMs && living().length; waited += 50) {
    await sleep(50);
    for (const p of descendants(leader)) known.add(p);
  }
  signalTree(leader, 'SIGKILL', known);
  for (let waited = 0; waited < 5000 && living().length; waited += 50) await sleep(50);
}

/** Ends every registered process tree (the CLI's signal handler, before it removes its work folders). */
export function endAllChildrenSync(): void {
  const leaders = [...state.pids];
  state.pids.clear();
  if (leaders.length) endTreesSync(leaders);
}

export interface ChildRun {
  cmd: string;
  args: readonly string[];
  cwd?: string;
  /** The child's whole environment when `extendEnv` is false, else added to berth's. */
  env?: NodeJS.ProcessEnv;
  extendEnv?: boolean;
  /** Aborting ends the child's whole process tree (SIGTERM, SIGKILL after 2 s). */
  signal?: AbortSignal;
  /** Each line of its stdout and stderr as it comes (each stream split on its own). */
  onLine: (line: string, from: 'stdout' | 'stderr') => void;
}

export interface ChildResult {
  exitCode: number | undefined;
  /** The signal that ended it, if one did. */
  signal: string | undefined;
  /** Ended through `signal` (the caller's AbortSignal). */
  cancelled: boolean;
  /** The program was not found. */
  notFound: boolean;
  /** execa's message when it could not be started or failed. */
  message: string;
}

/**
 * berth's one way to run a program: in a process group of its own, registered while it runs
 * (so a signal to berth ends it and all it started), its output passed on line by line, its
 * tree ended when `signal` aborts. Never rejects for the program's failure: the caller reads
 * the result and raises its own error.
 */
export async function runChild(run: ChildRun): Promise<ChildResult> {
  const { execa } = await import('execa');
  const child = execa(run.cmd, [...run.args], {
    ...(run.cwd ? { cwd: run.cwd } : {}),
    ...(run.env ? { env: run.env } : {}),
    extendEnv: run.extendEnv ?? true,
    reject: false,
    stdin: 'ignore',
    buffer: false,
    detached: true,
  });
  const untrack = child.pid !== undefined ? trackChild(child.pid) : () => {};
  let cancelled = false;
  let ending: Promise<void> | undefined;
  const onAbort = () => {
    cancelled = true;
    if (child.pid !== undefined) ending ??= endTree(child.pid);
  };
  if (run.signal?.aborted) onAbort();
  else run.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Raw chunks through one linear splitter: a program printing megabytes without a newline stays cheap.
    const follow = (from: 'stdout' | 'stderr') =>
      new Promise<void>((done) => {
        const stream = from === 'stdout' ? child.stdout : child.stderr;
        if (!stream) return done();
        const lines = lineSplitter((l) => run.onLine(l, from));
        const finish = () => {
          lines.end();
          done();
        };
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => lines.push(c));
        stream.once('end', finish);
        stream.once('close', finish);
        stream.once('error', finish);
      });
    await Promise.all([follow('stdout'), follow('stderr')]).catch(() => undefined);
    const result = await child;
    if (ending) await ending;
    const r = result as { exitCode?: number; signal?: string; code?: string; message?: string };
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      cancelled,
      notFound: r.code === 'ENOENT' || /\bENOENT\b/.test(String(r.message ?? '')),
      message: String(r.message ?? ''),
    };
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
    untrack();
  }
}

/** A line longer than this is cut (once, with a note): output need not have newlines. */
const MAX_LINE = 16 * 1024;

/** Splits output into lines in linear time; a line longer than MAX_LINE is cut, once, with a note. */
export function lineSplitter(log: (line: string) => void): { push: (chunk: string) => void; end: () => void } {
  let pending = '';
  let cut = false;
  const push = (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      if (!cut) log(pending + chunk.slice(start, nl));
      pending = '';
      cut = false;
      start = nl + 1;
    }
    if (cut) return;
    pending += chunk.slice(start);
    if (pending.length > MAX_LINE) {
      log(`${pending.slice(0, MAX_LINE)}… (line cut at ${MAX_LINE} characters)`);
      pending = '';
      cut = true;
    }
  };
  const end = () => {
    if (pending && !cut) log(pending);
    pending = '';
  };
  return { push, end };
}

export interface CaptureRun {
  cmd: string;
  args: readonly string[];
  cwd?: string;
  /** The child's whole environment when `extendEnv` is false, else added to berth's. */
  env?: NodeJS.ProcessEnv;
  extendEnv?: boolean;
  /** What the child reads on stdin (nothing when neither this nor `inputFile` is given). */
  input?: string | Uint8Array;
  inputFile?: string;
  /** Its stdout goes to this file instead of being captured (`stdout` is then empty). */
  stdoutFile?: string;
  /** Ended (SIGTERM) after this long; the result then says `timedOut`. */
  timeoutMs?: number;
  /** Also capture stdout and stderr interleaved, as a terminal would show them (`all`). */
  all?: boolean;
}

export interface CaptureResult {
  /** Exit code 0, not killed, not timed out. */
  ok: boolean;
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  /** The program was not found. */
  notFound: boolean;
  /** Without the final newline. */
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, when `all` was asked for; else empty. */
  all: string;
  /** execa's message when it could not be started or failed. */
  message: string;
}

/**
 * Runs a short program and returns what it printed. Never rejects for the program's failure
 * (nor for one that cannot be started): the caller reads the result and raises its own error.
 */
export async function runCapture(run: CaptureRun): Promise<CaptureResult> {
  const { execa } = await import('execa');
  const stdin = run.input !== undefined ? { input: run.input } : run.inputFile !== undefined ? { inputFile: run.inputFile } : { stdin: 'ignore' as const };
  try {
    const r = await execa(run.cmd, [...run.args], {
      ...(run.cwd ? { cwd: run.cwd } : {}),
      ...(run.env ? { env: run.env } : {}),
      extendEnv: run.extendEnv ?? true,
      ...stdin,
      // Not also kept in memory (execa would, and fail past maxBuffer's 100 MB).
      ...(run.stdoutFile !== undefined ? { stdout: { file: run.stdoutFile }, buffer: { stdout: false } } : {}),
      ...(run.timeoutMs !== undefined ? { timeout: run.timeoutMs } : {}),
      ...(run.all ? { all: true } : {}),
      reject: false,
    });
    const e = r as { code?: string; message?: string };
    return {
      ok: !r.failed,
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      notFound: e.code === 'ENOENT',
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderr: typeof r.stderr === 'string' ? r.stderr : '',
      all: typeof (r as { all?: unknown }).all === 'string' ? (r as { all: string }).all : '',
      message: String(e.message ?? ''),
    };
  } catch (err) {
    // Options execa refuses before starting anything (an input file that is not there).
    const e = err as NodeJS.ErrnoException;
    return { ok: false, exitCode: undefined, signal: undefined, timedOut: false, notFound: false, stdout: '', stderr: '', all: '', message: String(e?.message ?? err) };
  }
}

export interface LeanResult {
  /** 0 on success; -1 when the program could not be started at all (or was killed). */
  code: number;
  stdout: string;
}

let childProcess: Promise<typeof import('node:child_process')> | undefined;

/**
 * runCapture for the lean status path (see the header): node:child_process's execFile, loaded
 * on the first call. stdout in full (up to 256 MiB); never rejects.
 */
export async function captureLean(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LeanResult> {
  const { execFile } = await (childProcess ??= import('node:child_process'));
  return new Promise((resolve) => {
    execFile(cmd, args as string[], { ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: opts.env } : {}), maxBuffer: 256 * 1024 * 1024, windowsHide: true }, (err, stdout) => {
      if (err === null) return resolve({ code: 0, stdout });
      const code = (err as { code?: unknown }).code;
      resolve({ code: typeof code === 'number' ? code : -1, stdout: typeof stdout === 'string' ? stdout : '' });
    });
  });
}
