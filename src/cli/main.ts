import yargs, { type Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { GlobalArgs } from './command.js';
import { commands } from './commands/index.js';
import { EXAMPLES, SHORT_FLAGS } from './examples.js';
import type { CliIO } from './io.js';
import { reportError } from './report.js';
import { versionText } from './version.js';

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
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .exitProcess(false)
      .fail((msg, err) => {
        if (err) throw err;
        // yargs' suggestion alone ("Did you mean copy?") does not say what was wrong.
        const suggestion = /^Did you mean (.+)\?$/.exec(msg ?? '');
        // Errors are one line: yargs' multi-line ones (bad choices) are joined, not cut.
        const line = (msg ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
        throw new UsageError('BAD_FLAG', suggestion ? `unknown command "${argv[0]}"; did you mean ${suggestion[1]}? (see berth --help)` : line);
      });
    for (const c of commands) {
      parser = parser.command(
        c.command,
        c.describe,
        (y) => withConventions(c.command.split(' ')[0]!, c.builder(y as never) as unknown as Argv),
        async (args) => {
          const g = args as unknown as GlobalArgs;
          debug = g.debug;
          json = g.json;
          logJson = (args as { 'log-format'?: string })['log-format'] === 'json';
          await c.handler(args, io);
        },
      );
    }
    // yargs renders the whole help after every command, to show it on a later failure; berth's
    // failures are one line without help, so that rendering (about 40 ms) is skipped.
    (parser as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } }).getInternalMethods().getUsageInstance().cacheHelpMessage = () => {};
    let helpText = '';
    await parser.parseAsync(argv, {}, (_err, _args, output) => {
      helpText = output;
    });
    if (helpText) io.stdout.write(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return 0;
  } catch (err) {
    return reportError(err, io, { debug, json, logJson });
  }
}

/**
 * What every command gets, whatever flags it declares: `-o`, `-t`, `-p` for --output, --tag
 * and --platform where it has them, and its Examples: section (./examples.ts).
 */
function withConventions(name: string, y: Argv): Argv {
  const declared = (y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key;
  for (const [long, short] of Object.entries(SHORT_FLAGS)) if (Object.hasOwn(declared, long)) y = y.alias(long, short);
  // The command alone on its line, what it does as a comment: long commands keep the whole width.
  for (const [cmd, what] of EXAMPLES[name] ?? []) y = y.example(`# ${what}\n${cmd}`, '');
  return y;
}
