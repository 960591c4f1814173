/**
 * What a command may touch of the outside world. `main()` takes one, so tests run commands
 * in-process and read stdout and stderr apart; the bin passes the real process streams.
 */
export interface CliIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** What --password-stdin and --creds USER read; absent: nothing to read. */
  stdin?: AsyncIterable<Buffer | string>;
}

export function processIO(): CliIO {
  // stdin is opened only when a command reads it (--password-stdin, --creds USER).
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    get stdin() {
      return process.stdin;
    },
  };
}
