/**
 * berth release: read what to release, compute the plan (pure), then execute it and report.
 * The CLI parses flags into ReleaseOptions and calls `planFromSpec` then `executePlan`.
 */
import { resolve } from 'node:path';
import { checkRegistry } from '../config/index.js';
import { UsageError } from '../errors.js';
import type { Format } from '../oci/mediatype.js';
import type { Registries } from '../registry/index.js';
import type { ReleaseSpec } from './release-config.js';
import { planRelease, type ReleaseDestination, type ReleasePlan } from './release-plan.js';
import { renderTags, resolveComponents } from './resolve.js';

export { componentsFromFlags, EMPTY_SPEC, expandGlob, loadReleaseConfig, withOverrides, parseReleaseYaml, releaseYamlSchema, type ComponentSpec, type ReleaseSpec, type SourceSpec } from './release-config.js';
export { executePlan, ReleaseIncomplete, type ComponentResult, type ExecuteOptions, type ReleaseResult, type TargetResult } from './execute.js';
export { convertImage, planRelease, planToJson, planToText, type PlanInput, type PlannedComponent, type PlannedImage, type PlanTarget, type ReleaseDestination, type ReleasePlan, type ResolvedComponent, type ResolvedSource, type Step } from './release-plan.js';
export { appendGithubFiles, checkGithubFiles, componentLines, githubOutputs, summaryMarkdown, summaryTable, writeGithubFiles } from './release-report.js';
export { renderTags, resolveComponents } from './resolve.js';

export interface PlanFromSpecOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `--output oci:DIR`: a local layout instead of the registries. */
  layoutDir?: string;
  /** Names where the tags came from in errors (`--tag` or the release.yaml). */
  tagOrigin: string;
  /** `--sign`: the signers' names (and whether each image is signed too), for the plan's sign steps. */
  sign?: { signers: string[]; recursive: boolean };
  /** `--skip-empty-tags`: leave out a template with no value here instead of failing. */
  skipEmptyTags?: boolean;
  /** Hears of each tag left out. */
  note?: (line: string) => void;
}

/** The layout a release goes to when it names neither a registry nor `--to`. */
export const DEFAULT_LAYOUT = 'berth-release';

/** Where a spec publishes: `--to` when given, else its registries, else ./berth-release (an OCI layout). */
export function destinationOf(spec: ReleaseSpec, layoutDir: string | undefined, cwd: string): ReleaseDestination {
  if (layoutDir !== undefined) return { kind: 'layout', dir: layoutDir };
  if (spec.registries.length === 0) return { kind: 'layout', dir: resolve(cwd, DEFAULT_LAYOUT) };
  for (const r of spec.registries) {
    const why = checkRegistry(r);
    if (why) throw new UsageError('BAD_FLAG', `--registry: ${why}`);
  }
  return { kind: 'registries', registries: [...new Set(spec.registries)] };
}

/** Reads every source, renders the tags and computes the plan; writes nothing. */
export async function planFromSpec(spec: ReleaseSpec, format: Format, registries: Registries, opts: PlanFromSpecOptions): Promise<ReleasePlan> {
  const destination = destinationOf(spec, opts.layoutDir, opts.cwd);
  const tags = await renderTags(spec.tags, opts.tagOrigin, opts.cwd, opts.env, { skipEmpty: opts.skipEmptyTags ?? false, ...(opts.note ? { note: opts.note } : {}) });
  const components = await resolveComponents(spec.components, opts.cwd, registries);
  return planRelease({ components, tags, destination, archSuffixedRepos: spec.archSuffixedRepos, format, ...(opts.sign ? { sign: opts.sign } : {}) });
}
export { writeLocalIndex, type LocalIndexResult } from './local-index.js';
export { markExisting } from './existing.js';
