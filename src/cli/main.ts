import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { GlobalArgs } from './command.js';
import { commands } from './commands/index.js';
import { EXAMPLES, SHORT_FLAGS } from './examples.js';
import { joinStdoutValue } from './flags.js';
import type { CliIO } from './io.js';
import { reportError } from './error-report.js';
import { screenIO } from './screen.js';
import { closest } from '../suggest.js';
import { positionals, spelled, translateFailure, type CommandShape } from './usage-errors.js';
import { versionText } from './berth-version.js';
import { skipHelpCache } from './yargs-internals.js';

/**
 * Runs berth with `argv` and returns the exit code: 0 done, 2 bad usage or input, 1 an
 * operational failure. It never calls process.exit and writes only through `io`.
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  let debug = argv.includes('--debug');
  let json = argv.includes('--json');
  let logJson = argv.includes('--log-format=json') || argv.some((a, i) => a === '--log-format' && argv[i + 1] === 'json');
  try {
    if (argv[0] === '--version') {
      io.stdout.write(versionText());
      return 0;
    }
    // The command being parsed, for berth's wording of yargs' failures (./usage-errors.ts).
    let current: { name: string; usage: string; y: Argv } | undefined;
    let parser = yargs(argv)
      .scriptName('berth')
      .usage('berth <command> [options]\n\nBuild, stamp and release multi-architecture container images, with no Docker daemon.')
      .option('debug', { type: 'boolean', default: false, describe: 'Print stack traces with errors' })
      .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output on stdout' })
      .strict()
      .demandCommand(1, 'name a command; see berth --help')
      .recommendCommands()
      .version(false)
      .option('version', { type: 'boolean', global: false, describe: "Show berth's version, node's and the platform" })
      .help()
      .alias('help', 'h')
      .wrap(helpWidth())
      .exitProcess(false)
      .fail((msg, err) => {
        // yargs-parser's own failures (a flag of nargs 1 with nothing after it) come as a YError.
        if (err && err.name === 'YError' && current) {
          const ours = translateFailure(err.message, argv, current.name, commandShape(current.usage, current.y));
          if (ours !== undefined) throw new UsageError('BAD_FLAG', ours);
        }
        if (err) throw err;
        // yargs' suggestion alone ("Did you mean copy?") does not say what was wrong.
        const suggestion = /^Did you mean (.+)\?$/.exec(msg ?? '');
        const ours = current && !suggestion ? translateFailure(msg ?? '', argv, current.name, commandShape(current.usage, current.y)) : undefined;
        if (ours !== undefined) throw new UsageError('BAD_FLAG', ours);
        // No command yet: a flag of berth's own mistyped (`berth --verison`).
        const stray = current ? undefined : argv.find((a) => a.startsWith('-') && !['--help', '-h', '--version', '--debug', '--json'].includes(a.split('=')[0]!));
        if (stray !== undefined) {
          const near = closest(stray.replace(/^-+/, '').split('=')[0]!, ['help', 'version', 'debug', 'json']);
          throw new UsageError('BAD_FLAG', `unknown flag ${stray.split('=')[0]}${near ? `; did you mean --${near}?` : ''} (name a command first; see berth --help)`);
        }
        // Errors are one line: yargs' multi-line ones (bad choices) are joined, not cut.
        const line = (msg ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
        throw new UsageError('BAD_FLAG', suggestion ? `unknown command "${argv[0]}"; did you mean ${suggestion[1]}? (see berth --help)` : line);
      });
    for (const c of commands) {
      parser = parser.command(
        c.command,
        c.describe,
        (y) => {
          const name = c.command.split(' ')[0]!;
          const built = withConventions(name, c.builder(y));
          current = { name, usage: c.command, y: built };
          return built;
        },
        async (args) => {
          // --debug and --json are boolean flags of every command (default false).
          const g: GlobalArgs = { debug: args.debug === true, json: args.json === true };
          debug = g.debug;
          json = g.json;
          logJson = args['log-format'] === 'json';
          checkNamedConfig(args.config, io);
          checkNumbers(args, argv, current);
          await c.handler(args, screenIO(io, { exact: g.json || args.raw === true || args.config === true }));
        },
      );
    }
    // Help is not rendered after every command (./yargs-internals.ts).
    skipHelpCache(parser);
    let helpText = '';
    await parser.parseAsync(joinStdoutValue(argv), {}, (_err, _args, output) => {
      helpText = output;
    });
    if (helpText) io.stdout.write(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return 0;
  } catch (err) {
    return reportError(err, io, { debug, json, logJson });
  }
}

/** Help fits the terminal (short of its last column, where some wrap); piped (a file, a pager), 80 columns. */
function helpWidth(): number {
  return process.stdout.isTTY && process.stdout.columns ? Math.max(40, process.stdout.columns - 1) : 80;
}

/** The flags and spellings a command declares, read from its yargs instance. */
function commandShape(usage: string, y: Argv): CommandShape {
  const o = y.getOptions();
  const hidden = new Set([...o.hiddenOptions, ...positionals(usage).map((p) => p.name.replace(/\.+$/, '').toLowerCase())]);
  const flags = Object.keys(o.key).filter((k) => !hidden.has(k) && k.length > 1 && !/[A-Z]/.test(k) && !['help', 'version', '$0'].includes(k));
  return { usage, flags, aliases: o.alias };
}

/**
 * yargs makes a number flag's non-number NaN, and a message printing NaN names nothing the
 * user typed: say what was typed (`--compression-level fast`).
 */
function checkNumbers(args: Record<string, unknown>, argv: string[], current: { name: string; usage: string; y: Argv } | undefined): void {
  if (current) {
    // A number flag with nothing after it is left undefined, and its default used: say so.
    const o = current.y.getOptions();
    const shape = commandShape(current.usage, current.y);
    for (const key of o.number) {
      const spellings = [key, ...(shape.aliases[key] ?? [])].map((f) => (f.length === 1 ? `-${f}` : `--${f}`));
      const at = argv.findIndex((a) => spellings.includes(a));
      if (at >= 0 && (at === argv.length - 1 || /^-[^\d]/.test(argv[at + 1]!))) throw new UsageError('BAD_FLAG', `${spelled(key, shape)}: needs a value (see berth ${current.name} --help)`);
    }
  }
  for (const [key, value] of Object.entries(args)) {
    if (typeof value !== 'number' || !Number.isNaN(value) || /[A-Z]/.test(key)) continue;
    const shape = current ? commandShape(current.usage, current.y) : undefined;
    const spellings = [key, ...(shape?.aliases[key] ?? [])].map((f) => (f.length === 1 ? `-${f}` : `--${f}`));
    const at = argv.findIndex((a) => spellings.includes(a) || spellings.some((f) => a.startsWith(`${f}=`)));
    const typed = at < 0 ? '' : argv[at]!.includes('=') ? argv[at]!.slice(argv[at]!.indexOf('=') + 1) : (argv[at + 1] ?? '');
    const hint = key === 'compression-level' ? ' (a gzip level 0-9: gzip --fast is 1, --best 9)' : '';
    throw new UsageError('BAD_FLAG', `${spelled(key, shape)}: "${typed}" is not a number${hint}`);
  }
}

/**
 * A --config FILE named on the command line must be there: only the default ./berth.yaml may
 * be absent (a typo was read as "no config" and its settings silently left out).
 */
function checkNamedConfig(config: unknown, io: CliIO): void {
  if (typeof config !== 'string') return;
  const path = resolve(io.cwd, config);
  if (!existsSync(path)) throw new UsageError('BAD_FLAG', `--config ${config}: no such file${config === path ? '' : ` (${path})`}`);
}

/**
 * What every command gets, whatever flags it declares: `-o`, `-t`, `-p` for --output, --tag
 * and --platform where it has them, and its Examples: section (./examples.ts).
 */
function withConventions<T>(name: string, y: Argv<T>): Argv<T> {
  const declared = y.getOptions().key;
  for (const [long, short] of Object.entries(SHORT_FLAGS)) if (Object.hasOwn(declared, long)) y = y.alias(long, short);
  // The command alone on its line, what it does as a comment: long commands keep the whole width.
  for (const [cmd, what] of EXAMPLES[name] ?? []) y = y.example(`# ${what}\n${cmd}`, '');
  return y;
}
