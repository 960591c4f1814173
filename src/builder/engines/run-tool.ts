import { OperationalError, UsageError } from '../../errors.js';
import { runChild } from '../../util/children.js';
import { StepTracker, type StepLines } from './steps.js';

export interface ToolRun {
  /** The engine's name in messages ("buildah"). */
  engine: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** What the command does, for the error ("building", "loading image context base"). */
  doing: string;
  /** Steps berth put in front of the user's Dockerfile, not counted in step numbers. */
  hiddenSteps?: number;
  /** The Dockerfile's steps, so that a failure names its line (`Dockerfile:5`). */
  lines?: StepLines;
}

/**
 * Runs an engine's command, passing each line of its output (stdout and stderr, as they come)
 * to `log` and following its `STEP n/m:` / `Step n/m :` / `#n [k/m] ...` lines. A failure is
 * an OperationalError naming the step it stopped at; a foreign platform's binary that the
 * kernel cannot run (`exec format error`) says to install qemu-user-static and binfmt-support.
 */
export async function runTool(run: ToolRun): Promise<void> {
  const steps = new StepTracker(run.hiddenSteps);
  const tail: string[] = [];
  let execFormat = false;
  const see = (line: string) => {
    steps.see(line);
    if (/exec format error/i.test(line)) execFormat = true;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    run.log(line);
  };
  // Its own process group, ended whole when `signal` aborts or berth is interrupted.
  const result = await runChild({ cmd: run.cmd, args: run.args, ...(run.env ? { env: run.env } : {}), ...(run.signal ? { signal: run.signal } : {}), onLine: see });
  if (result.exitCode === 0 && !result.cancelled) return;
  if (result.notFound) throw new UsageError('ENGINE_MISSING', `${run.engine}: "${run.cmd}" is not installed`);
  const at = steps.current();
  const line = steps.line(run.lines);
  const where = at ? ` at ${line ? `${line} ` : ''}${at}` : '';
  if (result.cancelled) throw new OperationalError('ENGINE_FAILED', `${run.engine} stopped ${run.doing}${where}: cancelled`);
  if (execFormat) {
    throw new OperationalError(
      'ENGINE_FAILED',
      `${run.engine} failed ${run.doing}${where}: exec format error, a RUN for a foreign platform; install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) or build that stage FROM --platform=$BUILDPLATFORM`,
    );
  }
  const last = lastMessage(tail);
  const why = `exit code ${result.exitCode ?? result.signal ?? '?'}`;
  throw new OperationalError('ENGINE_FAILED', `${run.engine} failed ${run.doing}${where} (${why})${last ? `: ${last}` : ''}`);
}

/** The engine's own last error line, if it printed one. */
function lastMessage(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (l === '') continue;
    const m = /^(?:Error: |ERROR: )(.*)$/.exec(l) ?? /^#\d+ ERROR: (.*)$/.exec(l);
    if (m) return m[1]!.slice(0, 300);
  }
  return undefined;
}
