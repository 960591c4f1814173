import { OperationalError, UsageError } from '../../errors.js';
import { StepTracker } from './steps.js';

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
}

/**
 * Runs an engine's command, passing each line of its output (stdout and stderr, as they come)
 * to `log` and following its `STEP n/m:` / `Step n/m :` / `#n [k/m] ...` lines. A failure is
 * an OperationalError naming the step it stopped at; a foreign platform's binary that the
 * kernel cannot run (`exec format error`) says to install qemu-user-static and binfmt-support.
 */
export async function runTool(run: ToolRun): Promise<void> {
  const { execa } = await import('execa');
  const steps = new StepTracker(run.hiddenSteps);
  const child = execa(run.cmd, run.args, {
    env: run.env,
    reject: false,
    stdin: 'ignore',
    buffer: false,
    ...(run.signal ? { cancelSignal: run.signal } : {}),
  });
  const tail: string[] = [];
  let execFormat = false;
  const see = (line: string) => {
    steps.see(line);
    if (/exec format error/i.test(line)) execFormat = true;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    run.log(line);
  };
  // Each stream is split into lines on its own: a partial line of one never joins the other's.
  const follow = async (from: 'stdout' | 'stderr') => {
    for await (const line of child.iterable({ from })) see(String(line));
  };
  await Promise.all([follow('stdout'), follow('stderr')]);
  const result = await child;
  if (result.failed) {
    if ((result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.message))) {
      throw new UsageError('ENGINE_MISSING', `${run.engine}: "${run.cmd}" is not installed`);
    }
    const at = steps.current();
    const where = at ? ` at ${at}` : '';
    if (execFormat) {
      throw new OperationalError(
        'ENGINE_FAILED',
        `${run.engine} failed ${run.doing}${where}: exec format error, a RUN for a foreign platform; install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) or build that stage FROM --platform=$BUILDPLATFORM`,
      );
    }
    const last = lastMessage(tail);
    const why = result.isCanceled ? 'cancelled' : `exit code ${result.exitCode ?? result.signal ?? '?'}`;
    throw new OperationalError('ENGINE_FAILED', `${run.engine} failed ${run.doing}${where} (${why})${last ? `: ${last}` : ''}`);
  }
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
