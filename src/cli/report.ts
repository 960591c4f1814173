import { fsError } from '../blob/fs-errors.js';
import { isBerthError } from '../errors.js';
import type { CliIO } from './io.js';

/**
 * Writes an error as berth reports every error (one line on stderr, JSON on stdout with
 * --json, the stack with --debug or for an internal error) and returns the exit code.
 * Kept free of yargs so the lean push entry can use it too.
 */
export function reportError(thrown: unknown, io: CliIO, opts: { debug: boolean; json: boolean }): number {
  // A file-system error no caller named is still a user's or a disk's problem, not a bug.
  const err = fsError(thrown);
  const known = isBerthError(err);
  const exitCode = known ? err.exitCode : 1;
  const message = err instanceof Error ? err.message : String(err);
  const line = known ? message : `internal error: ${message}`;
  if (opts.json) {
    io.stdout.write(`${JSON.stringify({ error: { code: known ? err.code : 'INTERNAL', message: line } })}\n`);
  }
  io.stderr.write(`berth: ${line.split('\n')[0]}\n`);
  if ((opts.debug || !known) && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return exitCode;
}
