import { UsageError } from '../../errors.js';
import { buildahEngine } from './buildah.js';
import { dockerEngine } from './docker.js';
import type { EngineChoice, RunEngine, RunEngineName } from './engine.js';

export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'native', 'buildah', 'docker'];

export function parseEngineChoice(text: string): EngineChoice {
  if ((ENGINE_CHOICES as readonly string[]).includes(text)) return text as EngineChoice;
  throw new UsageError('BAD_FLAG', `--engine: "${text}" is not an engine; choose one of ${ENGINE_CHOICES.join(', ')}`);
}

export type ChosenEngine = { kind: 'native' } | { kind: 'run'; engine: RunEngine };

export interface ChooseInput {
  choice: EngineChoice;
  /** Where the first RUN of a stage the target needs is (`Dockerfile:4`), if any. */
  firstRun?: string;
  /** The engines to consider; by default buildah and the docker CLI as found on PATH. */
  engines?: Partial<Record<RunEngineName, RunEngine>>;
}

const INSTALL: Record<RunEngineName, string> = {
  buildah: 'buildah is not installed; install it (apt-get install buildah)',
  docker: 'no Docker daemon answers (DOCKER_HOST, or the default socket); start one (apt-get install docker.io)',
};

/**
 * `--engine`: `auto` takes the native engine when no needed stage has RUN, else buildah when
 * it is installed, else Docker when its daemon answers, else exits 2 saying what to install.
 * An engine asked for by name must be there (exit 2 naming it); `native` cannot run RUN.
 */
export async function chooseEngine(input: ChooseInput): Promise<ChosenEngine> {
  const engine = (name: RunEngineName): RunEngine => input.engines?.[name] ?? (name === 'buildah' ? buildahEngine() : dockerEngine());
  switch (input.choice) {
    case 'native':
      if (input.firstRun) {
        throw new UsageError('BAD_FLAG', `--engine native: ${input.firstRun} has RUN, which the native engine does not run; use --engine auto, buildah or docker`);
      }
      return { kind: 'native' };
    case 'buildah':
    case 'docker': {
      const e = engine(input.choice);
      if (!(await e.available())) throw new UsageError('ENGINE_MISSING', `--engine ${input.choice}: ${INSTALL[input.choice]}`);
      return { kind: 'run', engine: e };
    }
    case 'auto': {
      if (!input.firstRun) return { kind: 'native' };
      for (const name of ['buildah', 'docker'] as const) {
        const e = engine(name);
        if (await e.available()) return { kind: 'run', engine: e };
      }
      throw new UsageError(
        'ENGINE_MISSING',
        `${input.firstRun} has RUN, which needs buildah or Docker and neither is here: install buildah (apt-get install buildah) or start a Docker daemon`,
      );
    }
  }
}
