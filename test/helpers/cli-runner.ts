/**
 * berth commands run many to a child process (test/helpers/cli-child.cjs, the CLI bundle's
 * main()), each with a deadline: a command that does not answer in time is a hang, and the
 * child is killed and started afresh. Much cheaper than a process per command, and unlike
 * in-process runs a busy loop cannot take the test runner down with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import type { CliResult } from './cli.js';

export interface RunnerResult extends CliResult {
  /** The command did not finish within the deadline (its child was killed). */
  timedOut: boolean;
  /** Output written around berth's CliIO, straight to the process's stdout or stderr. */
  stray: string;
}

export class CliRunner {
  private child: ChildProcess | undefined;
  private next = 0;
  private waiting = new Map<number, (r: { code: number; stdout: string; stderr: string }) => void>();
  private stray = '';
  private exited: ((why: string) => void) | undefined;

  constructor(private readonly deadlineMs: number) {}

  async run(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunnerResult> {
    const child = this.start();
    const id = this.next++;
    this.stray = '';
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<RunnerResult>((resolve) => {
      this.waiting.set(id, (r) => resolve({ ...r, timedOut: false, stray: this.stray }));
      this.exited = (why) => resolve({ code: -1, stdout: '', stderr: why, timedOut: false, stray: this.stray });
      timer = setTimeout(() => {
        this.kill();
        resolve({ code: -1, stdout: '', stderr: '', timedOut: true, stray: this.stray });
      }, this.deadlineMs);
    });
    child.stdin!.write(`${JSON.stringify({ id, argv, cwd: opts.cwd, env: opts.env ?? { PATH: process.env.PATH } })}\n`);
    try {
      return await answer;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  stop(): void {
    this.kill();
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(process.execPath, [join(REPO_ROOT, 'test', 'helpers', 'cli-child.cjs')], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (this.stray += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.stray += d.toString()));
    createInterface({ input: child.stdio[3] as NodeJS.ReadableStream }).on('line', (line) => {
      const r = JSON.parse(line) as { id: number; code: number; stdout: string; stderr: string };
      this.waiting.get(r.id)?.(r);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.exited?.(`the berth process exited (${signal ?? code})`);
    });
    this.child = child;
    return child;
  }

  private kill(): void {
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined) child.kill('SIGKILL');
  }
}
