/**
 * A build-arg file (kyma's `envs`, `--build-arg-file`): KEY=VALUE lines, blank lines and `#`
 * comments skipped. Pure: `where` names the file in errors.
 */
import { UsageError } from '../errors.js';

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
