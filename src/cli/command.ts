import type { Argv } from 'yargs';
import type { CliIO } from './io.js';

/** Flags every command accepts. */
export interface GlobalArgs {
  debug: boolean;
  json: boolean;
}

/**
 * A command is data: its name and help, the flags it takes, and a handler that checks them,
 * calls one library function and prints. Commands are listed in ./commands/index.ts.
 */
export interface Command<A = object> {
  command: string;
  describe: string;
  builder: (y: Argv<GlobalArgs>) => Argv<A & GlobalArgs>;
  handler: (args: A & GlobalArgs, io: CliIO) => Promise<void>;
}

/** Erases a command's own argument type so commands of several kinds fit in one list. */
export function defineCommand<A>(c: Command<A>): Command<any> {
  return c as Command<any>;
}
