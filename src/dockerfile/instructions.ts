/**
 * One typed value per Dockerfile instruction (BuildKit's instructions/commands.go). Words are
 * kept as written where Docker expands them later with the variables in scope (ENV of the
 * base image, ARGs); the planner and the dispatcher expand them.
 */

/** `CMD`, `ENTRYPOINT`, `RUN`: a JSON array (exec form) or a string for the shell. */
export type CommandLine = { form: 'exec'; argv: string[] } | { form: 'shell'; text: string };

export interface Heredoc {
  name: string;
  content: string;
  /** `<<-`: leading tabs stripped from each line. */
  chomp: boolean;
  /** `<<"EOF"`/`<<'EOF'`: no expansion of the body. */
  quoted: boolean;
}

interface Base {
  /** 1-based line of the instruction's first line. */
  line: number;
  /** The instruction as written (continuations folded), for history and errors. */
  original: string;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  name?: string;
  platform?: string;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: { name: string; default?: string }[];
}

export interface KeyValueInstruction extends Base {
  kind: 'ENV' | 'LABEL';
  pairs: { key: string; value: string }[];
}

export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  checksum?: string;
  link: boolean;
  /** --exclude patterns, as written. */
  exclude?: string[];
  /** --parents: sources keep their folders (below a `/./` pivot when there is one). */
  parents?: boolean;
}

export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandLine;
  heredocs: Heredoc[];
  /** Its flags as written (`--mount=...`, `--network=...`), expanded by the dispatcher. */
  flags: string[];
}

export interface CommandInstruction extends Base {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandLine;
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  argv: string[];
}

export interface WordInstruction extends Base {
  kind: 'USER' | 'WORKDIR' | 'STOPSIGNAL' | 'MAINTAINER';
  value: string;
}

export interface ListInstruction extends Base {
  kind: 'EXPOSE' | 'VOLUME';
  values: string[];
  /** VOLUME's JSON form: values are taken literally after expansion, not split. */
  json: boolean;
}

export interface Healthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  healthcheck: Healthcheck;
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as written, recorded in the config's OnBuild. */
  expression: string;
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | KeyValueInstruction
  | CopyInstruction
  | RunInstruction
  | CommandInstruction
  | ShellInstruction
  | WordInstruction
  | ListInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** A stage: its FROM and the instructions after it, up to the next FROM. */
export interface Stage {
  index: number;
  from: FromInstruction;
  /** Lower-cased, as Docker compares stage names. */
  name?: string;
  instructions: Instruction[];
}

/** A parsed Dockerfile: ARGs before the first FROM, then the stages. */
export interface Dockerfile {
  /** How errors name the file ("Dockerfile", "images/app/Dockerfile"). */
  file: string;
  escape: string;
  syntax?: string;
  metaArgs: ArgInstruction[];
  stages: Stage[];
}
