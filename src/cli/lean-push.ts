/**
 * The lean entry for `berth push`, bundled into one CommonJS file (dist/lean/push.cjs) that
 * loads no yargs and no other command: a warm push is mostly start-up, and yargs alone costs
 * more than node does. It reads the same flags (REGISTRY_OPTIONS, TRANSFER_OPTIONS) with
 * node's own parseArgs and runs the same handler. Anything it does not take as it is
 * (--help, an unknown or malformed flag, a wrong number of arguments) goes to the full CLI,
 * which says what is wrong exactly as `berth push` would.
 *
 *   node dist/lean/push.cjs push <source> <target> [flags]
 */
import { parseArgs } from 'node:util';
import { removeScratchOnSignals } from '../util/scratch.js';
import { pushCommand } from './commands/push.js';
import { processIO, type CliIO } from './io.js';
import { TRANSFER_OPTIONS } from './registry-flags.js';
import { reportError } from './error-report.js';
import { screenIO } from './screen.js';

type Parsed = Parameters<typeof pushCommand.handler>[0];

/** The push arguments, or undefined when the full CLI should handle `argv`. */
export function parseLeanPush(argv: readonly string[]): Parsed | undefined {
  if (argv[0] !== 'push') return undefined;
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { json: { type: 'boolean' }, debug: { type: 'boolean' } };
  for (const [name, o] of Object.entries(TRANSFER_OPTIONS)) {
    options[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...('array' in o && o.array ? { multiple: true } : {}) };
  }
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv.slice(1), options, allowPositionals: true, strict: true }));
  } catch {
    return undefined;
  }
  if (positionals.length !== 2) return undefined;
  const args: Record<string, unknown> = { source: positionals[0], target: positionals[1], json: values.json === true, debug: values.debug === true };
  for (const [name, o] of Object.entries(TRANSFER_OPTIONS)) {
    const v = values[name];
    if (v === undefined) {
      if ('default' in o) args[name] = o.default;
    } else if (o.type === 'number') {
      if (typeof v !== 'string' || v.trim() === '' || Number.isNaN(Number(v))) return undefined;
      args[name] = Number(v);
    } else args[name] = v;
  }
  return args as Parsed;
}

/** Runs `berth push` from `argv`; undefined when it is not a push this entry takes. */
export async function runLeanPush(argv: readonly string[], io: CliIO): Promise<number | undefined> {
  const args = parseLeanPush(argv);
  if (!args) return undefined;
  try {
    await pushCommand.handler(args, screenIO(io));
    return 0;
  } catch (err) {
    return reportError(err, io, { debug: args.debug, json: args.json });
  }
}

// The full CLI, loaded only when needed (a path, so the bundler leaves it out).
const FULL_CLI = '../cli/bin.js';

if (process.argv[1] && /lean[/\\]push\.c?js$/.test(process.argv[1])) {
  const argv = process.argv.slice(2);
  removeScratchOnSignals(); // the blob cache's temporary files
  void runLeanPush(argv, processIO()).then(async (code) => {
    if (code === undefined) await ((await import(FULL_CLI)) as { run(a: string[]): Promise<void> }).run(argv);
    else process.exitCode = code;
  });
}
export { processIO, removeScratchOnSignals };
