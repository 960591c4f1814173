import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from './paths.js';

export { REPO_ROOT };
export const BERTH_BIN = join(REPO_ROOT, 'bin', 'berth.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs berth's main() in-process, capturing stdout and stderr apart. */
export async function berth(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: opts.env ?? { PATH: process.env.PATH },
    cwd: opts.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}

/** Runs the built `berth` executable (dist/, from `npm run build`) as a user would. */
export function berthBin(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BERTH_BIN, ...argv], { cwd: opts.cwd, env: opts.env ?? { PATH: process.env.PATH }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
