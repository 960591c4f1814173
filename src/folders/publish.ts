/**
 * Publishing an image folder: for each image asked for and each registry, what the registry
 * lacks under the image's content-hash tag is built and published with what it has, through
 * the release planner and executor (blobs, then manifests by digest, the index, tags last,
 * everything read back). An image the registry holds whole, on every tag, costs one HEAD per
 * tag and writes nothing.
 */
import { OperationalError, UsageError } from '../errors.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import type { Registries } from '../registry/index.js';
import { executePlan, planRelease, type ResolvedSource } from '../release/index.js';
import type { ExecuteOptions } from '../release/execute.js';
import { perArchRepoName } from '../release/release-plan.js';
import type { Image } from '../transport/image.js';
import { manifestCache, presence, type Presence } from './presence.js';
import type { ImagesPlan, PlannedImage, PlannedPlatform } from './folder-plan.js';
import { signatureNotes, type ImageOutcome } from './folder-report.js';

export interface PublishOptions {
  registries: Registries;
  /** Registry prefixes (`host[:port][/path]`); the image's name is appended. */
  targets: readonly string[];
  /** Tags besides the content-hash tag (the user's, the job's default), suffixed per variant here. */
  tags: (image: PlannedImage) => readonly string[];
  format: Format;
  /** Builds (or takes) the image for each given platform of a planned image. */
  build: (image: PlannedImage, platforms: readonly PlannedPlatform[]) => Promise<Image[]>;
  /** Print the plan per image and touch nothing. */
  dryRun?: boolean;
  /** Every signer (cosign keys, notary services) signs what is published, through the release executor. */
  sign?: ExecuteOptions['sign'];
  /** --provenance: attach signed SLSA provenance made from each image's facts. */
  attest?: Omit<NonNullable<ExecuteOptions['attest']>, 'facts'> & { facts: (image: PlannedImage) => import('../sign/provenance-statement.js').BuildFacts };
  /** Called when one image is done, for progress lines. */
  onOutcome?: (o: ImageOutcome) => void;
  /** The repository people pull from for a pushed one (`images.registries.pull`), for printed URIs. */
  pull?: (repository: string) => string;
  /** Also publish each platform's image as its own repository: `NAME-ARCH` (release --arch-suffixed-repos), or named by the function (images.arch-suffix). */
  archSuffix?: boolean | ((name: string, platform: Platform) => string);
  /** Whether `repository@digest` carries a signature already (an earlier run's); default: its cosign tag `sha256-<hex>.sig` exists. */
  signedBefore?: (repository: string, digest: string) => Promise<boolean>;
}

function repoRef(target: string, name: string, tag: string): Reference {
  return parseReference(`${target}/${name}:${tag}`, { what: `registry ${target}` });
}

const displayName = (i: PlannedImage) => (i.variant ? `${i.name}-${i.variant.name}` : i.name);

/** The tags an image goes under: its content-hash tag first, then the others (with `-<variant>`). */
export function imageTags(image: PlannedImage, tags: readonly string[]): string[] {
  const suffix = image.variant ? `-${image.variant.name}` : '';
  return [...new Set([image.tag, ...tags.map((t) => `${t}${suffix}`)])];
}

export async function publishImages(plan: ImagesPlan, opts: PublishOptions): Promise<ImageOutcome[]> {
  if (opts.targets.length === 0) throw new UsageError('BAD_FLAG', 'no registry to push to: give --registry, or set images.registry (or images.registries by job type) in berth.yaml');
  const outcomes: ImageOutcome[] = [];
  const wanted = plan.images.filter((i) => i.wanted);
  // Every image's index is asked for at once: a push with nothing to do is one round of HEADs.
  const asked = new Map<string, Promise<Presence>>();
  for (const image of wanted) {
    for (const target of opts.targets) {
      const ref = repoRef(target, image.name, image.tag);
      const p = presence(opts.registries, ref);
      p.catch(() => {}); // awaited (and its failure reported) by publishTo
      asked.set(formatReference(ref), p);
    }
  }
  const failed = new Set<string>();
  // By outcome, not name: a variant's outcome is `NAME-VARIANT`, while `failed` holds image names (what deps name).
  const unbuilt = new Set<ImageOutcome>();
  const willSign = !!opts.sign?.signers.length;
  // One image failing does not stop the others; those built FROM it are skipped.
  for (const image of wanted) {
    const tags = imageTags(image, opts.tags(image));
    const outcome: ImageOutcome = { name: displayName(image), contentHash: image.hash, repositories: [], platforms: [], added: [], built: [], tags, status: 'up-to-date', signed: false };
    const brokenBase = image.deps.find((d) => failed.has(d));
    if (brokenBase !== undefined || image.platforms.length === 0) {
      outcome.status = 'skipped';
      outcome.error = brokenBase !== undefined ? `not built: its base ${brokenBase} failed` : `no platform to build: ${image.notes.join('; ')}`;
      if (brokenBase !== undefined) {
        failed.add(image.name);
        unbuilt.add(outcome);
      }
    } else {
      try {
        for (const target of opts.targets) await publishTo(image, target, tags, opts, outcome, asked);
        if (opts.dryRun && outcome.status === 'planned' && willSign) outcome.wouldSign = [...outcome.repositories];
        if (willSign && !outcome.signed && outcome.digest && outcome.status !== 'planned') {
          const before = opts.signedBefore ?? ((repo: string, digest: string) => hasCosignSignature(opts.registries, repo, digest));
          const all = await Promise.all(outcome.repositories.map((r) => before(r, outcome.digest!).catch(() => false)));
          if (all.length && all.every(Boolean)) {
            outcome.signed = true;
            outcome.signedBy = 'before';
          }
        }
      } catch (err) {
        outcome.status = 'failed';
        outcome.error = (err as Error).message;
        failed.add(image.name);
      }
    }
    if (opts.pull) outcome.pullRepositories = outcome.repositories.map(opts.pull);
    outcomes.push(outcome);
    opts.onOutcome?.(outcome);
  }
  const bad = outcomes.filter((o) => o.status === 'failed' || unbuilt.has(o));
  if (bad.length) {
    const first = bad.find((o) => o.status === 'failed') ?? bad[0]!;
    const err = new OperationalError('REGISTRY', `${bad.length} of ${outcomes.length} images not published (${bad.map((o) => o.name).join(', ')}); ${first.name}: ${first.error ?? 'failed'}`);
    // --json prints `{images: [...], error}`: every requested image, whatever happened.
    throw Object.assign(err, { outcomes, result: { images: outcomes } });
  }
  return outcomes;
}

/** Whether the repository holds cosign's signature tag for `digest`. */
async function hasCosignSignature(registries: Registries, repository: string, digest: string): Promise<boolean> {
  const ref = parseReference(`${repository}:x`, { what: 'repository' });
  return (await registries.client(ref.registry).headManifest(ref.repository, `${digest.replace(':', '-')}.sig`)) !== undefined;
}

async function publishTo(image: PlannedImage, target: string, tags: string[], opts: PublishOptions, outcome: ImageOutcome, asked: ReadonlyMap<string, Promise<Presence>>): Promise<void> {
  const ref = repoRef(target, image.name, image.tag);
  outcome.repositories.push(`${ref.registry}/${ref.repository}`);
  const have = await (asked.get(formatReference(ref)) ?? presence(opts.registries, ref));
  const missing = image.platforms.filter((p) => !have.platforms.some((h) => platformMatches(p.platform, h)));
  if (missing.length === 0 && have.digest) {
    const client = opts.registries.client(ref.registry);
    const stale: string[] = [];
    for (const t of tags.slice(1)) if ((await client.headManifest(ref.repository, t))?.digest !== have.digest) stale.push(t);
    // Per-arch repositories turned on after the index was pushed: written now, from what the registry has.
    const archStale = opts.archSuffix ? await staleArchRepos(image.name, target, have, tags, opts) : [];
    outcome.digest = have.digest;
    outcome.size = have.artifact ? (have.artifact.kind === 'index' ? have.artifact.raw.length : have.artifact.manifestRaw.length) : undefined;
    outcome.platforms = have.platforms.map(formatPlatform);
    if (stale.length === 0 && archStale.length === 0) return;
    if (opts.dryRun) {
      outcome.status = 'planned';
      outcome.wouldTag = [...(outcome.wouldTag ?? []), ...stale.map((t) => `${ref.registry}/${ref.repository}:${t}`), ...archStale];
      return;
    }
  }
  if (opts.dryRun) {
    outcome.status = 'planned';
    outcome.platforms = [...have.platforms, ...missing.map((m) => m.platform)].map(formatPlatform);
    outcome.added = missing.map((m) => formatPlatform(m.platform));
    outcome.wouldTag = [...(outcome.wouldTag ?? []), ...tags.map((t) => `${ref.registry}/${ref.repository}:${t}`)];
    if (opts.archSuffix) {
      const all = [...have.platforms, ...missing.map((m) => m.platform)];
      for (const p of all) {
        const r = repoRef(target, archRepoName(image.name, p, all, opts.archSuffix), image.tag);
        outcome.wouldTag.push(...tags.map((t) => `${r.registry}/${r.repository}:${t}`));
      }
    }
    return;
  }

  const sources: ResolvedSource[] = [];
  const where = `${ref.registry}/${ref.repository}:${image.tag}`;
  // What the registry has stays: its children are listed again beside the new ones.
  if (have.artifact?.kind === 'index') {
    for (const d of have.artifact.index.manifests) {
      const child = await have.artifact.child(d);
      if (child.kind === 'image') sources.push({ ...(d.platform ? { platform: d.platform } : {}), source: `${ref.registry}/${ref.repository}@${d.digest}`, where, image: child });
    }
  } else if (have.artifact?.kind === 'image') {
    sources.push({ source: `${ref.registry}/${ref.repository}@${have.artifact.digest}`, where, image: have.artifact });
  }
  const built = missing.length ? await opts.build(image, missing) : [];
  built.forEach((img, i) => sources.push({ platform: missing[i]!.platform, source: `${image.name}/${missing[i]!.source.file}`, where: `${image.name} ${formatPlatform(missing[i]!.platform)}`, image: img }));

  const plan = planRelease({
    components: [{ name: image.name, where: image.name, sources }],
    tags,
    destination: { kind: 'registries', registries: [target] },
    archSuffixedRepos: !!opts.archSuffix,
    ...(typeof opts.archSuffix === 'function' ? { archRepoName: opts.archSuffix } : {}),
    format: opts.format,
    ...(opts.sign ? { sign: { signers: opts.sign.signers.map((s) => s.name), recursive: opts.sign.recursive } } : {}),
  });
  const attest = opts.attest;
  const result = await executePlan(plan, { registries: opts.registries, ...(opts.sign ? { sign: opts.sign } : {}), ...(attest ? { attest: { ...attest, facts: () => attest.facts(image) } } : {}) });
  const c = result.components[0]!;
  // The index is immutable by digest: keep it, so the next run's check is one HEAD.
  await manifestCache(opts.registries)?.write(plan.components[0]!.index.digest, plan.components[0]!.index.raw);
  outcome.status = 'published';
  outcome.digest = c.digest;
  outcome.size = plan.components[0]!.index.raw.length;
  outcome.platforms = c.platforms.map((p) => p.platform);
  outcome.added = [...new Set([...outcome.added, ...missing.map((m) => formatPlatform(m.platform))])];
  // A signer that only skipped (a notary service, for an image named by digest) signed nothing.
  outcome.signed = (c.signatures ?? []).some((s) => s.added.length + s.present.length > 0);
  if (outcome.signed) outcome.signedBy = 'this run';
  if (c.signatures?.length || c.attestations?.length) outcome.signatures = [...(outcome.signatures ?? []), ...signatureNotes(c)];
}


/** The per-arch repository of one platform, named as the release plan names it (`NAME-ARCH`, the variant too when two share an architecture) or by images.arch-suffix. */
function archRepoName(name: string, p: Platform, all: readonly Platform[], archSuffix: NonNullable<PublishOptions['archSuffix']>): string {
  return typeof archSuffix === 'function' ? archSuffix(name, p) : perArchRepoName(name, p, all);
}

/** `repo:tag` of each per-arch repository that does not name the image's platform manifest under every tag. */
async function staleArchRepos(name: string, target: string, have: Presence, tags: readonly string[], opts: PublishOptions): Promise<string[]> {
  const children: { platform: Platform; digest: string }[] =
    have.artifact?.kind === 'index'
      ? have.artifact.index.manifests.flatMap((d) => (d.platform ? [{ platform: d.platform, digest: d.digest }] : []))
      : have.digest && have.platforms[0] ? [{ platform: have.platforms[0], digest: have.digest }] : [];
  const all = children.map((c) => c.platform);
  const out: string[] = [];
  for (const c of children) {
    const r = repoRef(target, archRepoName(name, c.platform, all, opts.archSuffix!), tags[0]!);
    const client = opts.registries.client(r.registry);
    for (const t of tags) if ((await client.headManifest(r.repository, t))?.digest !== c.digest) out.push(`${r.registry}/${r.repository}:${t}`);
  }
  return out;
}
