/** Runs the built berth on a hostile input and reports what a user checks: exit code, stderr lines, time, files left. */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN } from '../../helpers/cli.js';

export interface HostileRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: string[];
  ms: number;
}

/** Runs `berth ARGV` in `cwd`; killed after `killAfterMs` so a hang fails the test instead of the suite. */
export function runBerth(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; killAfterMs?: number }): Promise<HostileRun> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [BERTH_BIN, ...argv], { cwd: opts.cwd, env: opts.env ?? { PATH: process.env.PATH, HOME: opts.cwd }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, lines: stderr.split('\n').filter((l) => l !== ''), ms: Date.now() - start });
    });
  });
}

/** Every path under `dir`, sorted, for "nothing written or left" checks. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      out.push(p);
      if (e.isDirectory()) await walk(p);
    }
  }
  await walk('');
  return out.sort();
}
