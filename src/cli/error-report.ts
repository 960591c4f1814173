import { fsError } from '../util/fs-errors.js';
import { isBerthError } from '../errors.js';
import type { CliIO } from './io.js';

/**
 * Writes an error as berth reports every error (one line on stderr, JSON on stdout with
 * --json, the stack with --debug or for an internal error) and returns the exit code.
 * Kept free of yargs so the lean push entry can use it too.
 */
export function reportError(thrown: unknown, io: CliIO, opts: { debug: boolean; json: boolean; logJson?: boolean }): number {
  // A file-system error no caller named is still a user's or a disk's problem, not a bug.
  const err = fsError(thrown);
  const known = isBerthError(err);
  const exitCode = known ? err.exitCode : 1;
  const message = err instanceof Error ? err.message : String(err);
  const line = known ? message : `internal error: ${message}`;
  if (opts.json) {
    // An error may carry a report of what was done before it (a release's per-component result).
    const done = known && 'result' in err && typeof err.result === 'object' && err.result !== null ? err.result : {};
    io.stdout.write(`${JSON.stringify({ ...done, error: { code: known ? err.code : 'INTERNAL', message: line } })}\n`);
  }
  // --log-format json: stderr is one JSON object per line, the error's too.
  if (opts.logJson) io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', code: known ? err.code : 'INTERNAL', message: line.split('\n')[0] })}\n`);
  else io.stderr.write(`berth: ${line.split('\n')[0]}\n`);
  if (!opts.logJson && (opts.debug || !known) && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return exitCode;
}
