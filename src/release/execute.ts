/**
 * Carries out a release plan. Per component and per repository, in the contract's order:
 * every blob, every per-arch manifest by digest, the index, then the tags (writeRegistry);
 * so a failure part-way leaves no tag on anything incomplete, and a re-run finishes the job
 * uploading nothing that is there. Then every index and child is read back and checked.
 */
import pLimit from 'p-limit';
import { isBerthError, OperationalError, type ErrorCode } from '../errors.js';
import { isIndexMediaType, formatOf } from '../oci/mediatype.js';
import { formatPlatform, platformMatches } from '../oci/platform.js';
import type { Registries } from '../registry/index.js';
import { toWritableContent } from '../transport/copy-image.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkLayout } from '../transport/layout-check.js';
import { writeLayout, type LayoutEntry } from '../transport/layout-write.js';
import type { Artifact } from '../transport/image.js';
import { readRegistry, writeRegistry, type PushResult } from '../transport/registry.js';
import { imagePlatform } from '../transport/select.js';
import { settleAll, signTargets, type ImageTarget, type SignedImage, type SignOptions } from '../sign/sign.js';
import type { ImageSigner } from '../sign/signer.js';
import { attestTargets, type AttestedImage, type AttestTarget } from '../sign/attest.js';
import { provenanceStatement, SLSA_PROVENANCE_V1, statementBytes, type BuildFacts } from '../sign/provenance-statement.js';
import type { PlannedComponent, PlanTarget, ReleasePlan } from './release-plan.js';

export interface ExecuteOptions {
  /** Needed when the plan publishes to registries. */
  registries?: Registries;
  /** Skip a component whose first tag already points at the planned index in every repository. */
  ifMissing?: boolean;
  /** mtime of entries written to a layout (SOURCE_DATE_EPOCH). */
  epoch?: number;
  signal?: AbortSignal;
  /** Components published at once (default 4). */
  concurrency?: number;
  /**
   * `--sign`: after every component is published (tags included), sign each target's
   * artifact (with `recursive`, each per-arch image of an index too) with every signer.
   */
  sign?: { signers: readonly ImageSigner[]; recursive: boolean } & Pick<SignOptions, 'annotations' | 'signatureRepository'>;
  /**
   * `--provenance`: after signing, attach to each target an in-toto statement (SLSA v1
   * provenance) signed by `signers`; its subjects are the index and every platform image
   * (with `recursive`, each platform image gets its own too). `facts` says what went into a
   * component (or one of its platform images).
   */
  attest?: { signers: readonly ImageSigner[]; recursive: boolean; builder: { id?: string; version: string }; facts: (c: PlannedComponent, image?: PlannedComponent['images'][number]) => BuildFacts };
}

export const DEFAULT_CONCURRENCY = 4;

export interface TargetResult {
  repository: string;
  what: 'index' | 'image';
  platform?: string;
  digest: string;
  /** `repository:tag` references now on the digest. */
  references: string[];
  upToDate: boolean;
  blobs: PushResult['blobs'];
  uploadedBytes: number;
}

export interface ComponentResult {
  name: string;
  digest: string;
  mediaType: string;
  platforms: { platform: string; digest: string; source: string; sourceDigest: string }[];
  tags: string[];
  repositories: string[];
  /** True when --if-missing found it published already. */
  skipped: boolean;
  /** `failed`: not all of it went live (`targets` holds what did); `error` says why. */
  status: 'published' | 'failed';
  error?: { code: string; message: string };
  targets: TargetResult[];
  /** With --sign: what was signed, and where the signatures are. */
  signatures?: SignedImage[];
  /** With --provenance: the attestations attached, and where. */
  attestations?: AttestedImage[];
}

export interface ReleaseResult {
  format: string;
  components: ComponentResult[];
}

const NO_BLOBS = (): PushResult['blobs'] => ({ uploaded: 0, mounted: 0, existing: 0, skipped: 0 });

function artifactFor(c: PlannedComponent, t: PlanTarget): Artifact {
  if (t.what === 'index') return c.artifact;
  return c.images.find((i) => i.image.digest === t.digest)!.image;
}

function baseResult(c: PlannedComponent, skipped: boolean, targets: TargetResult[]): ComponentResult {
  return {
    name: c.name,
    digest: c.index.digest,
    mediaType: c.index.mediaType,
    platforms: c.images.map((i) => ({ platform: formatPlatform(i.platform), digest: i.image.digest, source: i.source, sourceDigest: i.sourceDigest })),
    tags: c.targets[0]?.tags ?? [],
    repositories: c.targets.filter((t) => t.what === 'index').map((t) => t.repository),
    skipped,
    status: 'published',
    targets,
  };
}

/**
 * A registry release in which some component failed: `result` says, per component, what
 * went live (`published`, or `failed` with the targets written before the failure and the
 * reason). Exit 1; the CLI reports the result before the error.
 */
export class ReleaseIncomplete extends OperationalError {
  constructor(readonly result: ReleaseResult) {
    const failed = result.components.filter((c) => c.status === 'failed');
    const first = failed[0]!.error!;
    super(first.code as ErrorCode, `release incomplete: ${failed.length} of ${result.components.length} components failed (${failed.map((c) => c.name).join(', ')}); ${failed[0]!.name}: ${first.message}`);
  }
}

function errorOf(err: unknown): { code: string; message: string } {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  return { code: isBerthError(err) ? err.code : 'INTERNAL', message };
}

function fail(what: string): never {
  throw new OperationalError('DIGEST_MISMATCH', `read-back check failed: ${what}`);
}

/** Checks that what a registry holds under the target is what the plan published. */
async function verifyRegistry(registries: Registries, c: PlannedComponent, t: PlanTarget): Promise<void> {
  const host = t.registry!;
  const repo = t.path!;
  const got = await readRegistry(registries, { registry: host, repository: repo, digest: t.digest as never }, { originOnly: true });
  if (got.digest !== t.digest) fail(`${t.repository}@${t.digest} reads back as ${got.digest}`);
  if (t.what === 'index') {
    if (got.kind !== 'index' || !isIndexMediaType(got.mediaType)) fail(`${t.repository}@${t.digest} is not an index`);
    const want = c.images.map((i) => i.image.digest);
    const have = got.index.manifests.map((d) => d.digest);
    if (want.join(',') !== have.join(',')) fail(`${t.repository}@${t.digest} lists ${have.join(', ')}, not ${want.join(', ')}`);
    for (const desc of got.index.manifests) {
      const child = await got.child(desc);
      if (child.kind !== 'image' || child.digest !== desc.digest) fail(`${t.repository}@${desc.digest} is missing or not an image`);
      if (formatOf(child.mediaType) !== formatOf(got.mediaType)) fail(`${t.repository}@${desc.digest} is ${child.mediaType} in a ${got.mediaType}`);
      if (!desc.platform || !platformMatches(desc.platform, imagePlatform(child))) fail(`${t.repository}@${desc.digest} is listed as ${desc.platform ? formatPlatform(desc.platform) : 'no platform'} but is ${formatPlatform(imagePlatform(child))}`);
    }
  } else if (got.kind !== 'image') {
    fail(`${t.repository}@${t.digest} is not an image`);
  }
  const client = registries.client(host);
  for (const tag of t.tags) {
    const d = await client.headManifest(repo, tag);
    if (d?.digest !== t.digest) fail(`${t.repository}:${tag} points at ${d?.digest ?? 'nothing'}, not ${t.digest}`);
  }
}

/** Whether every index repository of the component already has its first tag on the planned index. */
async function alreadyPublished(registries: Registries, c: PlannedComponent): Promise<boolean> {
  for (const t of c.targets) {
    if (t.what !== 'index') continue;
    const tag = t.tags[0];
    if (tag === undefined) return false;
    const d = await registries.client(t.registry!).headManifest(t.path!, tag);
    if (d?.digest !== t.digest) return false;
  }
  return true;
}

/**
 * Publishes into a local OCI layout, every component at once and all or nothing (blobs, then
 * index.json naming each `component:tag`), then reads every blob and entry back from disk.
 */
async function executeLayout(plan: ReleasePlan, dir: string): Promise<ReleaseResult> {
  const entries: LayoutEntry[] = [];
  for (const c of plan.components) {
    entries.push({ content: await toWritableContent(c.artifact, c.name), refNames: plan.tags.length ? plan.tags.map((t) => `${c.name}:${t}`) : [c.name] });
  }
  // A file-system failure names the layout the user gave, not berth's work folder in it.
  await withFsErrors(dir, () => writeLayout(dir, entries));
  await checkLayout(dir, entries);
  const results = plan.components.map((c, i) =>
    baseResult(c, false, [
      { repository: `oci:${dir}`, what: 'index', digest: c.index.digest, references: entries[i]!.refNames.map((n) => `oci:${dir}:${n}`), upToDate: false, blobs: NO_BLOBS(), uploadedBytes: 0 },
    ]),
  );
  return { format: plan.format, components: results };
}

/**
 * Executes the plan. Before the first push, every repository is reached (so an unreachable
 * registry or a refused login fails before anything is written); --if-missing decides there.
 */
export async function executePlan(plan: ReleasePlan, opts: ExecuteOptions): Promise<ReleaseResult> {
  if (plan.destination.kind === 'layout') return executeLayout(plan, plan.destination.dir);
  const registries = opts.registries;
  if (!registries) throw new Error('executePlan: a registry release needs registries');
  const signal = opts.signal;

  // Reach every registry first: a HEAD on each index repository's first tag (or digest).
  const limit = pLimit(opts.concurrency ?? DEFAULT_CONCURRENCY);
  for (const c of plan.components) for (const t of c.targets) registries.client(t.registry!).forPush(t.path!);
  const published = await Promise.all(
    plan.components.map((c) =>
      limit(async () => {
        if (opts.ifMissing) return alreadyPublished(registries, c);
        for (const host of new Set(c.targets.map((t) => t.registry!))) {
          const t = c.targets.find((x) => x.registry === host)!;
          await registries.client(host).headManifest(t.path!, t.tags[0] ?? t.digest, signal);
        }
        return false;
      }),
    ),
  );

  // Components at once (`concurrency`); within one, repository after repository, each in the
  // contract's order. Every component settles before a failure is reported, so none is left
  // running after the command returns.
  const done: TargetResult[][] = plan.components.map(() => []);
  const settled = await Promise.allSettled(
    plan.components.map((c, i) =>
      limit(async (): Promise<ComponentResult> => {
        if (published[i]) return baseResult(c, true, []);
        const targets = done[i]!;
        for (const t of c.targets) {
          const r = await writeRegistry(registries, artifactFor(c, t), { registry: t.registry!, repository: t.path! }, { tags: t.tags, ...(signal ? { signal } : {}) });
          targets.push({
            repository: t.repository,
            what: t.what,
            ...(t.platform ? { platform: t.platform } : {}),
            digest: r.digest,
            references: r.tags.length ? r.tags : [r.reference],
            upToDate: r.upToDate,
            blobs: r.blobs,
            uploadedBytes: r.uploadedBytes,
          });
        }
        // What was written is read back; a target already up to date was just seen under its tags.
        for (const [j, t] of c.targets.entries()) if (!targets[j]!.upToDate) await verifyRegistry(registries, c, t);
        return baseResult(c, false, targets);
      }),
    ),
  );
  const results = settled.map((r, i) =>
    r.status === 'fulfilled' ? r.value : { ...baseResult(plan.components[i]!, false, done[i]!), status: 'failed' as const, error: errorOf(r.reason) },
  );
  if (results.some((r) => r.status === 'failed')) throw new ReleaseIncomplete({ format: plan.format, components: results });
  // Signatures and attestations go to different tags: both at once.
  await settleAll([...(opts.sign ? [signRelease(plan, results, registries, opts.sign, signal)] : []), ...(opts.attest ? [attestRelease(plan, results, registries, opts.attest, signal)] : [])]);
  return { format: plan.format, components: results };
}

/** Signatures last: every target of every component (published now or before), each image once. */
async function signRelease(plan: ReleasePlan, results: ComponentResult[], registries: Registries, sign: NonNullable<ExecuteOptions['sign']>, signal?: AbortSignal): Promise<void> {
  const perComponent = plan.components.map((c) =>
    c.targets.flatMap((t): ImageTarget[] => {
      const size = t.what === 'index' ? c.index.raw.length : c.images.find((i) => i.image.digest === t.digest)?.image.manifestRaw.length;
      const top: ImageTarget = { registry: t.registry!, repository: t.path!, digest: t.digest as ImageTarget['digest'], ...(size !== undefined ? { size } : {}), tags: t.tags };
      if (!sign.recursive || t.what !== 'index') return [top];
      return [top, ...c.images.map((i): ImageTarget => ({ registry: top.registry, repository: top.repository, digest: i.image.digest, size: i.image.manifestRaw.length }))];
    }),
  );
  const signed = await signTargets(registries, perComponent.flat(), sign.signers, {
    ...(sign.annotations ? { annotations: sign.annotations } : {}),
    ...(sign.signatureRepository ? { signatureRepository: sign.signatureRepository } : {}),
    ...(signal ? { signal } : {}),
  });
  let i = 0;
  perComponent.forEach((targets, j) => {
    results[j]!.signatures = signed.slice(i, i + targets.length);
    i += targets.length;
  });
}

/** Attestations after the signatures: per target, the statement about it (and with `recursive`, each per-arch image's own). */
async function attestRelease(plan: ReleasePlan, results: ComponentResult[], registries: Registries, attest: NonNullable<ExecuteOptions['attest']>, signal?: AbortSignal): Promise<void> {
  const perComponent = plan.components.map((c) =>
    c.targets.flatMap((t): AttestTarget[] => {
      const repo = { registry: t.registry!, repository: t.path! };
      const name = `${repo.registry}/${repo.repository}`;
      const statement = (subjects: { name: string; digest: AttestTarget['digest'] }[], facts: BuildFacts) => statementBytes(provenanceStatement(subjects, facts, attest.builder));
      if (t.what === 'image') {
        const img = c.images.find((i) => i.image.digest === t.digest)!;
        return [{ ...repo, digest: t.digest, mediaType: img.image.mediaType, size: img.image.manifestRaw.length, statement: statement([{ name, digest: t.digest }], attest.facts(c, img)), predicateType: SLSA_PROVENANCE_V1 }];
      }
      const top: AttestTarget = {
        ...repo,
        digest: t.digest,
        mediaType: c.index.mediaType,
        size: c.index.raw.length,
        statement: statement([{ name, digest: t.digest }, ...c.images.map((i) => ({ name, digest: i.image.digest }))], attest.facts(c)),
        predicateType: SLSA_PROVENANCE_V1,
      };
      if (!attest.recursive) return [top];
      return [top, ...c.images.map((i): AttestTarget => ({ ...repo, digest: i.image.digest, mediaType: i.image.mediaType, size: i.image.manifestRaw.length, statement: statement([{ name, digest: i.image.digest }], attest.facts(c, i)), predicateType: SLSA_PROVENANCE_V1 }))];
    }),
  );
  const attested = await attestTargets(registries, perComponent.flat(), attest.signers, { ...(signal ? { signal } : {}) });
  let i = 0;
  perComponent.forEach((targets, j) => {
    results[j]!.attestations = attested.slice(i, i + targets.length);
    i += targets.length;
  });
}
