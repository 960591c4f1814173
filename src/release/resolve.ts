/**
 * From a ReleaseSpec to the plan's inputs: every source read (tarball, layout or registry;
 * from a multi-arch source, the matching platform's manifest by digest) and the tags
 * rendered. Reads only; nothing is written.
 */
import pLimit from 'p-limit';
import { isBerthError, type BerthError, type ErrorCode } from '../errors.js';
import type { Registries } from '../registry/index.js';
import { checkSkippedTags, collectTagContext, computeTags, parseTagSpec } from '../tags/index.js';
import type { Image } from '../transport/image.js';
import { parseAnyLocation, readAnyLocation } from '../transport/location.js';
import { selectImage } from '../transport/select.js';
import type { ComponentSpec, SourceSpec } from './release-config.js';
import type { ResolvedComponent } from './release-plan.js';

/** Prefixes a UsageError's message with where the input was named, keeping its code. */
function at(where: string, err: unknown): unknown {
  if (isBerthError(err) && !err.message.startsWith(where)) {
    const e: BerthError = err;
    const Ctor = e.constructor as new (code: ErrorCode, message: string, options?: { cause?: unknown }) => BerthError;
    return new Ctor(e.code, `${where}: ${e.message}`, { cause: e });
  }
  return err;
}

async function readSource(s: SourceSpec, cwd: string, registries: Registries): Promise<Image> {
  try {
    const loc = parseAnyLocation(s.source, cwd, 'source');
    const artifact = await readAnyLocation(loc, registries);
    if (artifact.kind === 'image') return artifact; // its platform is checked by the plan
    return await selectImage(artifact, s.platform, s.source);
  } catch (err) {
    throw at(s.where, err);
  }
}

/** Reads every component's sources, 8 at a time. */
export async function resolveComponents(components: ComponentSpec[], cwd: string, registries: Registries): Promise<ResolvedComponent[]> {
  const limit = pLimit(8);
  return Promise.all(
    components.map(async (c) => ({
      name: c.name,
      where: c.where,
      sources: await Promise.all(c.sources.map((s) => limit(async () => ({ ...(s.platform ? { platform: s.platform } : {}), source: s.source, where: s.where, image: await readSource(s, cwd, registries) })))),
    })),
  );
}

/**
 * Renders tag specs (`{{ .Version }}`, `v{{ .Date }}-{{ .ShortSHA }}`, plain tags). The git
 * and CI context is read only when a template needs it. A template with no value here is an
 * error (a release never silently drops a tag) unless `skipEmpty`; `note` hears of each tag skipped.
 */
export async function renderTags(specs: readonly string[], origin: string, cwd: string, env: NodeJS.ProcessEnv, opts: { skipEmpty?: boolean; note?: (line: string) => void } = {}): Promise<string[]> {
  if (specs.length === 0) return [];
  const parsed = specs.map((s) => parseTagSpec(s, origin));
  const templated = parsed.some((p) => p.parts.some((x) => !('text' in x)));
  const context = templated ? await collectTagContext({ cwd, env }) : { ci: {} as never, repoTags: [], warnings: [] };
  const { tags, skipped } = computeTags({ specs: parsed, context, env });
  for (const line of checkSkippedTags(skipped, origin, opts.skipEmpty ?? false)) opts.note?.(line);
  return tags.map((t) => t.value);
}
