import { UsageError } from '../../errors.js';
import { buildahEngine } from './buildah.js';
import { dockerEngine } from './docker.js';
import type { EngineChoice, RunEngine, RunEngineName } from './engine.js';

/** A RUN engine as `--engine` knows it. */
export interface RunEngineEntry {
  readonly name: string;
  /** The engine as found on PATH. */
  create(): RunEngine;
  /** How messages name it (`Docker`). */
  readonly title: string;
  /** What `--engine NAME` says when it is missing here. */
  readonly missing: string;
  /** What to do to have it, in the message of `auto` finding none. */
  readonly remedy: string;
  /** Whether berth runs its RUN steps one by one (steps/) rather than handing it the whole Dockerfile. */
  readonly stepwise: boolean;
}

/**
 * The RUN engines, one file each (engine.ts says what each implements), in the order `auto`
 * tries them. A new engine is a file and a row here.
 */
export const RUN_ENGINES = [
  {
    name: 'buildah',
    create: () => buildahEngine(),
    title: 'buildah',
    missing: 'buildah is not installed; install it (apt-get install buildah)',
    remedy: 'install buildah (apt-get install buildah)',
    stepwise: true,
  },
  {
    name: 'docker',
    create: () => dockerEngine(),
    title: 'Docker',
    missing: 'no Docker daemon answers (DOCKER_HOST, or the default socket); start one (apt-get install docker.io)',
    remedy: 'start a Docker daemon',
    stepwise: false,
  },
] as const satisfies readonly RunEngineEntry[];

export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'native', ...RUN_ENGINES.map((e) => e.name)];

export function parseEngineChoice(text: string): EngineChoice {
  if ((ENGINE_CHOICES as readonly string[]).includes(text)) return text as EngineChoice;
  throw new UsageError('BAD_FLAG', `--engine: "${text}" is not an engine; choose one of ${ENGINE_CHOICES.join(', ')}`);
}

/**
 * The engine chosen. `stepwise`: its RUN steps run one by one under berth (steps/), which its
 * row asks for, unless the caller brought its own engine (a test's).
 */
export type ChosenEngine = { kind: 'native' } | { kind: 'run'; engine: RunEngine; stepwise: boolean };

export interface ChooseInput {
  choice: EngineChoice;
  /** Where the first RUN of a stage the target needs is (`Dockerfile:4`), if any. */
  firstRun?: string;
  /** The engines to consider; by default each of the table as found on PATH. */
  engines?: Partial<Record<RunEngineName, RunEngine>>;
}

/**
 * `--engine`: `auto` takes the native engine when no needed stage has RUN, else the first
 * engine of the table that is here (buildah when installed, else Docker when its daemon
 * answers), else exits 2 saying what to install. An engine asked for by name must be there
 * (exit 2 naming it); `native` cannot run RUN.
 */
export async function chooseEngine(input: ChooseInput): Promise<ChosenEngine> {
  type Row = (typeof RUN_ENGINES)[number];
  const engine = (row: Row): RunEngine => input.engines?.[row.name] ?? row.create();
  const run = (row: Row, e: RunEngine): ChosenEngine => ({ kind: 'run', engine: e, stepwise: row.stepwise && !input.engines?.[row.name] });
  if (input.choice === 'native') {
    if (input.firstRun) {
      throw new UsageError('BAD_FLAG', `--engine native: ${input.firstRun} has RUN, which the native engine does not run; use --engine ${['auto', ...RUN_ENGINES.map((r) => r.name)].join(', ').replace(/, ([^,]*)$/, ' or $1')}`);
    }
    return { kind: 'native' };
  }
  if (input.choice === 'auto') {
    if (!input.firstRun) return { kind: 'native' };
    for (const row of RUN_ENGINES) {
      const e = engine(row);
      if (await e.available()) return run(row, e);
    }
    const titles = RUN_ENGINES.map((r) => r.title);
    throw new UsageError(
      'ENGINE_MISSING',
      `${input.firstRun} has RUN, which needs ${titles.join(' or ')} and ${titles.length === 2 ? 'neither' : 'none'} is here: ${RUN_ENGINES.map((r) => r.remedy).join(' or ')}`,
    );
  }
  const row = RUN_ENGINES.find((r) => r.name === input.choice)!;
  const e = engine(row);
  if (!(await e.available())) throw new UsageError('ENGINE_MISSING', `--engine ${row.name}: ${row.missing}`);
  return run(row, e);
}
