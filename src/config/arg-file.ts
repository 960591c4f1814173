/**
 * A build-arg file (kyma's `envs`, `--build-arg-file`): KEY=VALUE lines, blank lines and `#`
 * comments skipped. `where` names the file in errors. Read by `berth build` and `berth images`.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** Reads and parses a build-arg file; an unreadable one is bad input (exit 2). */
export async function readArgFile(path: string, where: string): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `${where}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code})`}`);
  });
  return parseArgFile(text, where);
}

export function parseArgFile(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UsageError('BAD_FLAG', `${where}:${i + 1}: "${line}" is not KEY=VALUE`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
