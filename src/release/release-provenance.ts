/**
 * What a release knows about where each image came from, for its provenance: the facts file
 * `berth build --provenance` left beside a source tarball (Dockerfile, arguments, bases by
 * digest, engine, times), else only the source itself by digest; and the checkout's commit.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { formatPlatform } from '../oci/platform.js';
import { readFactsBeside } from '../sign/provenance-facts.js';
import { mergeFacts, type BuildFacts } from '../sign/provenance-statement.js';
import type { PlannedComponent, PlannedImage, ReleasePlan } from './release-plan.js';

/** A source that names a file (not `registry/repo@digest`, not `oci:`). */
function fileOf(source: string, cwd: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !isAbsolute(source)) return undefined;
  if (/@sha256:/.test(source)) return undefined;
  return resolve(cwd, source);
}

/** Reads every source's facts file once; returns the facts of a component (or one of its images). */
export async function releaseFacts(plan: ReleasePlan, opts: { cwd: string; git?: BuildFacts['git'] }): Promise<(c: PlannedComponent, image?: PlannedImage) => BuildFacts> {
  const beside = new Map<string, BuildFacts | undefined>();
  for (const c of plan.components) {
    for (const i of c.images) {
      const file = fileOf(i.source, opts.cwd);
      if (file && !beside.has(file)) beside.set(file, await readFactsBeside(file));
    }
  }
  const one = (i: PlannedImage): BuildFacts => {
    const file = fileOf(i.source, opts.cwd);
    const built = file ? beside.get(file) : undefined;
    const uri = file ? `file:${relative(opts.cwd, file).split('\\').join('/')}` : `docker-image://${i.source}`;
    const git = built?.git ?? opts.git;
    return {
      ...(built ?? {}),
      platforms: built?.platforms.length ? built.platforms : [formatPlatform(i.platform)],
      sources: [...(built?.sources ?? []), { uri, digest: i.sourceDigest, name: 'image' }],
      ...(git ? { git } : {}),
    };
  };
  return (c, image) => mergeFacts((image ? [image] : c.images).map(one));
}
