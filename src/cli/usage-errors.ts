/**
 * yargs' own failure messages ("Unknown argument: bse", "Missing required argument: output",
 * "Not enough non-option arguments: got 1, need at least 2") said in berth's voice: a flag by
 * its full spelling with its short form, a did-you-mean for flags, positional arguments by
 * name, and a pointer where a docker, buildx, crane or skopeo habit is the likely cause.
 */
import { closest } from '../suggest.js';

/** What the failing command declares: its usage line (`push <source> <target>`) and options. */
export interface CommandShape {
  usage: string;
  /** Long option names the command takes, hidden ones left out. */
  flags: string[];
  /** Each option's short and other spellings. */
  aliases: Record<string, string[]>;
}

/**
 * Habits of other tools, by the flag they type: what berth takes instead. Keyed by flag name,
 * and by `command:flag` where the pointer is one command's.
 */
const HABITS: Record<string, string> = {
  insecure: "crane's --insecure is --insecure-registry HOST[:PORT] here (plain HTTP for that host; localhost needs none)",
  'tls-verify': "skopeo's --tls-verify=false is --insecure-registry HOST[:PORT] here (plain HTTP for that host; localhost needs none)",
  'src-tls-verify': "skopeo's --src-tls-verify=false is --insecure-registry HOST[:PORT] here",
  'dest-tls-verify': "skopeo's --dest-tls-verify=false is --insecure-registry HOST[:PORT] here",
  'override-arch': "skopeo's --override-arch is --platform os/arch here",
  'override-os': "skopeo's --override-os is --platform os/arch here",
  'login:p': 'the password is read from stdin only, never from the command line: echo "$PASSWORD" | berth login HOST -u USER --password-stdin',
  'login:password': 'the password is read from stdin only, never from the command line: echo "$PASSWORD" | berth login HOST -u USER --password-stdin',
  'build:f': "docker build's -f is --dockerfile FILE here (with --context DIR, default the Dockerfile's folder)",
  'build:push': 'berth build writes a tarball or layout (--output); publish it with berth push or berth release',
  'build:load': 'berth build writes a tarball or layout (--output); load it with berth load',
  'push:all-tags': 'berth push sends one image or index; name each tag in the target',
};

const dash = (f: string): string => (f.length === 1 ? `-${f}` : `--${f}`);

/** `--output/-o`: a flag with its other spellings. */
export function spelled(flag: string, shape: CommandShape | undefined): string {
  // yargs names a flag as typed (`a`); its full spelling is the option it is an alias of.
  const canonical = flag.length === 1 ? (Object.entries(shape?.aliases ?? {}).find(([k, v]) => k.length > 1 && v.includes(flag))?.[0] ?? flag) : flag;
  const others = (shape?.aliases[canonical] ?? []).filter((a) => a !== canonical && !/[A-Z]/.test(a));
  return [canonical, ...others].map(dash).join('/');
}

/** The positional names of a usage line, as README writes them: `<source>` → SOURCE, `[names..]` → NAMES... */
export function positionals(usage: string): { name: string; required: boolean }[] {
  return [...usage.matchAll(/([<[])([\w-]+)(\.\.)?[>\]]/g)].map((m) => ({ name: m[2]!.toUpperCase() + (m[3] ? '...' : ''), required: m[1] === '<' }));
}

/** The flags `argv` gives that the command does not take (as typed, without dashes). */
export function unknownFlags(argv: string[], shape: CommandShape): string[] {
  const known = new Set([...shape.flags, ...Object.values(shape.aliases).flat(), 'help', 'h', 'debug', 'json', 'version']);
  const out: string[] = [];
  for (const a of argv) {
    if (a === '--') break;
    const long = /^--(?:no-)?([^=]+)/.exec(a);
    if (long) {
      if (!known.has(long[1]!) && !known.has(a.slice(2).split('=')[0]!)) out.push(a.slice(2).split('=')[0]!);
      continue;
    }
    const short = /^-([A-Za-z])/.exec(a);
    if (short && !known.has(short[1]!)) out.push(short[1]!);
  }
  return out;
}

/** One line for an unknown flag: a habit's pointer, else the closest flag the command takes. */
function unknownFlag(flag: string, command: string, shape: CommandShape): string {
  const habit = HABITS[`${command}:${flag}`] || HABITS[flag];
  const help = `(see berth ${command} --help)`;
  if (habit) return `unknown flag ${dash(flag)}: ${habit}`;
  const near = flag.length > 1 ? closest(flag, shape.flags) : undefined;
  return near ? `unknown flag ${dash(flag)}; did you mean ${spelled(near, shape)}? ${help}` : `unknown flag ${dash(flag)} ${help}`;
}

/**
 * berth's line for a yargs failure `msg` while parsing `argv` (the whole command line) for
 * `command` (the name, `build`), or undefined to keep yargs' own.
 */
export function translateFailure(msg: string, argv: string[], command: string | undefined, shape: CommandShape | undefined): string | undefined {
  if (command === undefined || shape === undefined) return undefined;
  const rest = argv.slice(argv.indexOf(command) + 1);
  const help = `(see berth ${command} --help)`;
  // An unknown flag is the likeliest cause of whatever else failed (`build -f Dockerfile .`
  // first misses --output): name it first.
  const unknown = unknownFlags(rest, shape);
  if (unknown.length > 0) return unknownFlag(unknown[0]!, command, shape);
  const names = positionals(shape.usage);
  const usageLine = `berth ${command} ${names.map((p) => (p.required ? p.name : `[${p.name}]`)).join(' ')}`.trimEnd();

  let m = /^Missing required arguments?: (.+)$/.exec(msg);
  if (m) {
    const missing = m[1]!.split(', ').filter((f) => shape.flags.includes(f));
    if (missing.length === 0) return undefined;
    return `${missing.map((f) => spelled(f, shape)).join(', ')}: required ${help}`;
  }
  m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(msg);
  if (m) {
    const got = Number(m[1]);
    const required = names.filter((p) => p.required);
    const lacking = required.slice(got).map((p) => p.name);
    return `missing ${lacking.join(' and ')}: ${usageLine} ${help}`;
  }
  m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (m) {
    // Not flags (those were found above): positional arguments the command has no place for.
    const extra = m[1]!.split(', ')[0]!;
    if (command === 'build' && extra === '.') return `unexpected argument ".": docker build's context is --context DIR here (default: the Dockerfile's folder) ${help}`;
    return `unexpected argument "${extra}": ${names.length ? `${usageLine} takes ${names.length === 1 ? 'one' : names.length}` : `berth ${command} takes none`} ${help}`;
  }
  m = /^Invalid values:\s*Argument: ([\w-]+), Given: (.+), Choices: (.+)$/s.exec(msg.replace(/\n\s*/g, ' '));
  if (m) {
    const choices = [...m[3]!.matchAll(/"([^"]*)"/g)].map((c) => c[1]!);
    const given = m[2]!.replace(/^"(.*)"$/, '$1');
    const what = shape.flags.includes(m[1]!) ? spelled(m[1]!, shape) : m[1]!.toUpperCase();
    const near = closest(given, choices);
    return `${what}: "${given}" is not one of ${choices.join(', ')}${near ? `; did you mean ${near}?` : ''}`;
  }
  m = /^Not enough arguments following: (.+)$/.exec(msg);
  if (m) return `${spelled(m[1]!, shape)}: needs a value ${help}`;
  return undefined;
}
