/**
 * The tags an image gets: from specs (flags or berth.yaml), from semver expansion, or the
 * defaults for the CI context (`pr-<n>` for a pull request, `v<YYYYMMDD>-<shortsha>`
 * otherwise). Every value is checked against the OCI tag grammar; a value appears once.
 * Pure: the context is read by ./context.ts.
 */
import { UsageError } from '../errors.js';
import { isValidTag } from '../oci/reference.js';
import { tagFromVersion } from '../status/version-rules.js';
import type { TagContext } from './context.js';
import { expandSemver, type Tag } from './semver.js';
import { missingValues, parseTagSpec, renderTagSpec, type TagSpec, type TemplateValues } from './spec.js';

export type { Tag } from './semver.js';

export const DEFAULT_PR_TAG = 'default=pr-{{ .PRNumber }}';
export const DEFAULT_PUSH_TAG = 'default=v{{ .Date }}-{{ .ShortSHA }}';

export interface ComputeTagsInput {
  specs: readonly TagSpec[];
  context: TagContext;
  /** The environment, for `{{ .Env "NAME" }}`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Expand the release version (context.version) with expandSemver. */
  semver?: boolean;
}

export interface SkippedTag {
  spec: string;
  /** The fields or variables with no value in this context (`.PRNumber`, `$SUFFIX`). */
  missing: string[];
}

export interface ComputedTags {
  tags: Tag[];
  skipped: SkippedTag[];
}

/** The values templates see in this context. */
export function templateValues(ctx: TagContext): TemplateValues {
  const v: TemplateValues = {};
  if (ctx.version) v.Version = tagFromVersion(ctx.version);
  if (ctx.commit && ctx.commit !== 'unknown') {
    v.CommitSHA = ctx.commit;
    v.ShortSHA = ctx.commit.slice(0, 8);
  }
  if (ctx.commitTime !== undefined) v.Date = new Date(ctx.commitTime * 1000).toISOString().slice(0, 10).replaceAll('-', '');
  if (ctx.prNumber) v.PRNumber = ctx.prNumber;
  if (ctx.branch) v.Branch = ctx.branch.replace(/[^A-Za-z0-9._-]+/g, '-');
  return v;
}

export function computeTags(input: ComputeTagsInput): ComputedTags {
  const values = templateValues(input.context);
  let specs = input.specs;
  if (specs.length === 0 && !input.semver) {
    specs = [parseTagSpec(input.context.prNumber ? DEFAULT_PR_TAG : DEFAULT_PUSH_TAG, 'default tag')];
  }
  const candidates: Array<Tag & { from: string }> = [];
  const skipped: SkippedTag[] = [];
  for (const spec of specs) {
    const missing = missingValues(spec, values, input.env);
    if (missing.length > 0) {
      skipped.push({ spec: spec.source, missing });
      continue;
    }
    candidates.push({ name: spec.name, value: renderTagSpec(spec, values, input.env), from: `tag "${spec.source}"` });
  }
  if (input.semver) {
    const version = input.context.version;
    if (!version) throw new UsageError('BAD_TAG', '--semver: no release version here; pass --release-version v1.2.3');
    for (const t of expandSemver(version, input.context.repoTags)) candidates.push({ ...t, from: `--semver ${version}` });
  }
  const tags: Tag[] = [];
  const byName = new Map<string, string>();
  const seen = new Set<string>();
  for (const c of candidates) {
    if (!isValidTag(c.value)) {
      throw new UsageError('BAD_TAG', `${c.from} gives "${c.value}", which is not a valid tag (want [A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
    }
    if (seen.has(c.value)) continue;
    const other = byName.get(c.name);
    if (other !== undefined) throw new UsageError('BAD_TAG', `the tag name "${c.name}" is given to both "${other}" and "${c.value}"; name them apart with name=value`);
    seen.add(c.value);
    byName.set(c.name, c.value);
    tags.push({ name: c.name, value: c.value });
  }
  return { tags, skipped };
}

/**
 * The one rule for a template with no value here (`pr-{{ .PRNumber }}` outside a pull
 * request), in `berth tags` and `berth release` alike: an error naming it, unless the user
 * asked to skip such tags (`--skip-empty-tags`); then one note per skipped tag is returned.
 */
export function checkSkippedTags(skipped: readonly SkippedTag[], origin: string, skipEmpty: boolean): string[] {
  if (!skipEmpty && skipped.length > 0) {
    const s = skipped[0]!;
    throw new UsageError('BAD_TAG', `${origin} "${s.spec}": no value here for ${s.missing.join(', ')} (--skip-empty-tags leaves such tags out)`);
  }
  return skipped.map((s) => `skipped tag "${s.spec}": no value here for ${s.missing.join(', ')}`);
}
