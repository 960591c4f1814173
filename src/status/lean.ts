/**
 * The lean `berth status` entry point that hack/build/print-workspace-status.sh runs. It is
 * bundled into one CommonJS file (dist/lean/status.cjs, see docs/status.md) that loads no
 * yargs and no execa; the YAML parser (dist/lean/yaml.cjs) is loaded only when berth.yaml
 * has to be parsed, and node:child_process only when a git call is needed. Bazel runs it
 * before builds, so every millisecond here is paid again and again (docs/performance.md).
 *
 *   node dist/lean/status.cjs [--config=FILE] [--no-build-date] [--cache-dir=DIR]
 *       [--commit=SHA] [--git-common-dir=DIR] [--stdin]
 *
 * With `--stdin` it reads, from the script, the rest of the git facts and the cache key:
 *
 *   scm-status=clean|dirty
 *   commit-time=SECONDS          (optional, with describe)
 *   describe=TEXT                (the output of DESCRIBE_FORMAT; empty: no v* tag)
 *   <empty line>
 *   <the cache key, to the end>
 *
 * Given all of them it starts no git process. After printing it writes
 * `<cache-dir>/status.cache` as `<key length in bytes>\n<key><output>`, the format the
 * script compares. `--no-build-date` leaves out the one time-varying key, which the script
 * prints itself. Exit 0 with the keys on stdout; 2 with one line on stderr when the config
 * is broken; anything else and the script falls back to defaults.
 */
import { mkdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isBerthError } from '../errors.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { collectStatus, type CollectStatusOptions } from './collect.js';
import { pickEnv } from './env.js';
import { buildDate, formatStatus } from './status.js';

interface LeanArgs {
  opts: CollectStatusOptions;
  buildDate: boolean;
  stdin: boolean;
}

/**
 * The flags, read by node's parseArgs: the string ones only as `--flag=VALUE` with a value (the
 * script always writes them so), the boolean ones bare. Anything else stops the run at the
 * first argument that does not fit, with the same one line as ever.
 */
const OPTIONS = {
  config: { type: 'string' },
  commit: { type: 'string' },
  'git-common-dir': { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-build-date': { type: 'boolean' },
  stdin: { type: 'boolean' },
} as const;

function parseLeanArgs(argv: string[], cwd: string, env: NodeJS.ProcessEnv): LeanArgs {
  const opts: CollectStatusOptions = { cwd, env, hints: {} };
  let withDate = true;
  let stdin = false;
  for (const t of parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true }).tokens) {
    const arg = argv[t.index]!;
    const known = t.kind === 'option' && Object.hasOwn(OPTIONS, t.name) && t.rawName.startsWith('--');
    const kind = known ? OPTIONS[t.name as keyof typeof OPTIONS].type : undefined;
    if (!known || t.kind !== 'option') throw new Error(`unknown argument "${arg}"`);
    if (kind === 'boolean' ? t.value !== undefined : !t.inlineValue || !t.value) throw new Error(`unknown argument "${arg}"`);
    if (t.name === 'no-build-date') withDate = false;
    else if (t.name === 'stdin') stdin = true;
    else if (t.name === 'config') opts.configFile = resolve(cwd, t.value!);
    else if (t.name === 'commit') opts.hints!.commit = t.value!;
    else if (t.name === 'git-common-dir') opts.hints!.commonDir = t.value!;
    else opts.cacheDir = t.value!;
  }
  return { opts, buildDate: withDate, stdin };
}

/** Splits the script's stdin into the git facts (into `opts.hints`) and the cache key. */
function readStdin(opts: CollectStatusOptions): Buffer | undefined {
  const input = readFileSync(0);
  const sep = input.indexOf('\n\n');
  const head = (sep < 0 ? input : input.subarray(0, sep)).toString('utf8');
  for (const line of head.split('\n')) {
    const eq = line.indexOf('=');
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (name === 'scm-status' && (value === 'clean' || value === 'dirty')) opts.hints!.dirty = value === 'dirty';
    else if (name === 'commit-time' && /^[0-9]+$/.test(value)) opts.hints!.commitTime = Number.parseInt(value, 10);
    else if (name === 'describe') opts.hints!.describe = value;
  }
  return sep < 0 ? undefined : input.subarray(sep + 2);
}

/** The running bundle's size and time: a rebuilt berth does not reuse a cached config. */
function buildId(): string {
  try {
    const st = statSync(process.argv[1] ?? '');
    return `${st.size}-${st.mtimeMs}`;
  } catch {
    return '';
  }
}

export async function runLeanStatus(argv: string[]): Promise<number> {
  try {
    const args = parseLeanArgs(argv, process.cwd(), process.env);
    const key = args.stdin ? readStdin(args.opts) : undefined;
    const status = await collectStatus({ ...args.opts, buildId: buildId() });
    for (const w of status.warnings) write(2, `berth: warning: ${w}\n`);
    const date = args.buildDate ? buildDate(pickEnv(process.env)) : undefined;
    const out = formatStatus(status, date !== undefined ? { buildDate: date } : {});
    write(1, out);
    if (key !== undefined && key.length > 0 && args.opts.cacheDir !== undefined && !args.buildDate && keyStillHolds(key, args.opts)) {
      writeCache(args.opts.cacheDir, key, out);
    }
    return 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    write(2, `berth: ${msg.split('\n')[0]}\n`);
    return isBerthError(err) ? err.exitCode : 1;
  }
}

/**
 * The files this run read after the script did (berth.yaml and the git config) must be as
 * the key says; if either was saved in between, the answer is printed but not cached.
 */
function keyStillHolds(key: Buffer, opts: CollectStatusOptions): boolean {
  const part = (name: string, file: string): Buffer => {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      text = '<none>';
    }
    const body = Buffer.from(`${name}=${text}`, 'latin1');
    return Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from('\n')]);
  };
  const configFile = opts.configFile ?? join(opts.cwd, 'berth.yaml');
  if (!key.includes(part('berth.yaml', configFile))) return false;
  if (opts.hints?.commonDir !== undefined && !key.includes(part('gitconfig', join(opts.hints.commonDir, 'config')))) return false;
  return true;
}

/** Replaces the cache atomically; a cache that cannot be written only costs time. */
function writeCache(dir: string, key: Buffer, out: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomicSync(join(dir, 'status.cache'), Buffer.concat([Buffer.from(`${key.length}\n`), key, Buffer.from(out)]));
  } catch {
    // ignore the failure (a full disk): writeFileAtomicSync leaves no half-written file
  }
}

/** Writes without setting up process.stdout's stream (a few ms this path does not need). */
function write(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(fd, buf, off);
  } catch {
    (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(off));
  }
}

void runLeanStatus(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
