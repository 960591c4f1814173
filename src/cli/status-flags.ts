import type { Argv } from 'yargs';
import { expandStatusKeys, readStatusFiles, type StatusValues } from '../status/stamp.js';

/** `--status-file`: Bazel workspace status files whose values `{KEY}` in names become. */
export interface StatusFileArgs {
  'status-file'?: string[];
}

export function statusFileFlag<T>(y: Argv<T>, what: string) {
  return y.option('status-file', {
    type: 'string',
    array: true,
    describe: `a Bazel workspace status file (bazel-out/stable-status.txt, volatile-status.txt): {KEY} in ${what} becomes its value`,
  });
}

/** The status values of the --status-file flags, undefined when none was given. */
export async function statusValues(args: StatusFileArgs, cwd: string): Promise<StatusValues | undefined> {
  const files = args['status-file'] ?? [];
  return files.length ? readStatusFiles(files, cwd) : undefined;
}

/** Each value with its `{KEY}`s replaced from the status files (an error names `flag` when one has no value). */
export function stampValues(values: readonly string[] | undefined, status: StatusValues | undefined, flag: string): string[] {
  return (values ?? []).map((v) => expandStatusKeys(v, status, flag));
}
