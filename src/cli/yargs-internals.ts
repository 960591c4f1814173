/**
 * What berth uses of yargs beyond @types/yargs (which types yargs 17; yargs 18 ships no types
 * for node): `getOptions()`, a method of yargs' YargsInstance that the typings leave out, and
 * one private hook. test/cli/cli-yargs.test.ts fails when a yargs update changes either.
 */
import type { Argv } from 'yargs';

/** The parts of yargs' `getOptions()` berth reads: every flag declared so far. */
export interface DeclaredOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  hiddenOptions: string[];
  number: string[];
}

declare module 'yargs' {
  interface Argv<T = {}> {
    /** The flags declared on this instance (yargs' own method, absent from @types/yargs 17). */
    getOptions(): DeclaredOptions;
  }
}

interface UsageInstance {
  cacheHelpMessage?: unknown;
}

/**
 * yargs renders the whole help after every command, to show it on a later failure; berth's
 * failures are one line without help, so that rendering (about 40 ms) is skipped. yargs has
 * no option for it: this replaces the private hook yargs calls (its usage instance's
 * `cacheHelpMessage`). Returns false, and changes nothing, when the hook is not there.
 */
export function skipHelpCache(parser: Argv<any>): boolean {
  const internal = parser as Argv<any> & { getInternalMethods?: () => { getUsageInstance?: () => UsageInstance } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage !== 'function') return false;
  usage.cacheHelpMessage = () => {};
  return true;
}
