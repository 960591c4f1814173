import { UsageError } from '../errors.js';
import { FORMATS, type Format } from '../oci/mediatype.js';

/** `KEY=VALUE` flags into a map; a later flag for the same key wins. */
export function parseKeyValues(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError('BAD_FLAG', `${flag}: "${v}" is not KEY=VALUE`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** `UID:GID` (numbers), as for --owner. */
export function parseOwner(text: string, flag: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError('BAD_FLAG', `${flag}: "${text}" is not UID[:GID] (numbers, e.g. 65532:65532)`);
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? uid : Number(m[2]);
  if (uid > 0x7fffffff || gid > 0x7fffffff) throw new UsageError('BAD_FLAG', `${flag}: "${text}" is out of range`);
  return { uid, gid };
}

/**
 * An entrypoint or command: a JSON array (`["/app","--v=2"]`) as written, or a plain string
 * taken as one argument (no shell splitting, so paths with spaces stay whole).
 */
export function parseArgv(text: string, flag: string): string[] {
  if (!text.trimStart().startsWith('[')) return [text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('BAD_FLAG', `${flag}: "${text}" starts with [ but is not a JSON array of strings`);
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new UsageError('BAD_FLAG', `${flag}: "${text}" must be a JSON array of strings`);
  }
  return parsed;
}

/** SOURCE_DATE_EPOCH from the environment: whole seconds, 0 when unset. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError('BAD_FLAG', `SOURCE_DATE_EPOCH: "${raw}" is not a whole number of seconds`);
  }
  return Number(raw);
}

export function parseFormat(text: string): Format {
  if (!(FORMATS as readonly string[]).includes(text)) throw new UsageError('BAD_FLAG', `--format: "${text}" is not one of ${FORMATS.join(', ')}`);
  return text as Format;
}

export function parseCompressionLevel(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new UsageError('BAD_FLAG', `--compression-level: ${n} is not a whole number from 0 to 9`);
  return n;
}

/** Writes `--json` output or the human lines. */
export function print(io: { stdout: { write(s: string): unknown } }, json: boolean, value: unknown, human: string): void {
  io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith('\n') ? human : `${human}\n`);
}

/** `--user user[:group]`: each a name or a number, as a Dockerfile's USER takes it. */
export function parseUser(text: string): string {
  const part = /^(?:[A-Za-z_][A-Za-z0-9_.-]*\$?|\d+)$/;
  const [user, group, ...rest] = text.split(':');
  if (rest.length > 0 || !part.test(user ?? '') || (group !== undefined && !part.test(group))) {
    throw new UsageError('BAD_FLAG', `--user: "${text}" is not USER[:GROUP] (names or numbers, e.g. 65532:65532 or nonroot)`);
  }
  for (const n of [user, group]) if (n !== undefined && /^\d+$/.test(n) && Number(n) > 0x7fffffff) throw new UsageError('BAD_FLAG', `--user: "${text}" is out of range`);
  return text;
}

/** `--expose PORT[/PROTO]`: a port from 1 to 65535, tcp (the default), udp or sctp. */
export function parseExpose(text: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new UsageError('BAD_FLAG', `--expose: "${text}" is not PORT[/PROTO] (a port from 1 to 65535; tcp, udp or sctp)`);
  return text;
}

/**
 * yargs-parser takes `-` as a value after a short flag (`-o -`) but not after a long one: it
 * leaves `--output -` empty and `-` as a stray argument. Joined (`--output=-`), both mean stdout.
 */
export function joinStdoutValue(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return [...out, ...argv.slice(i)];
    if (argv[i] === '--output' && argv[i + 1] === '-') out.push(`--output=${argv[++i]}`);
    else out.push(argv[i]!);
  }
  return out;
}
