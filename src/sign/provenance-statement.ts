/**
 * Build provenance as an in-toto Statement v1 with an SLSA v1 provenance predicate. Pure: the
 * statement is made from facts collected by whoever built or published the image (berth build,
 * berth images push, berth release), and is the same bytes for the same facts (keys in a fixed
 * order, lists sorted), so two builds of the same inputs differ only in their times.
 *
 *   _type          https://in-toto.io/Statement/v1
 *   subject        [{name: registry/repo, digest: {sha256}}]: the image (an index: it and every platform image)
 *   predicateType  https://slsa.dev/provenance/v1
 *   predicate.buildDefinition  buildType, externalParameters (Dockerfile, target, platforms,
 *                              build arguments but none that look secret), resolvedDependencies
 *                              (bases by digest, the git commit, ImageSource and tarball digests)
 *   predicate.runDetails       builder {id, version: berth's and the engine's}, metadata {startedOn, finishedOn}
 */
import { UsageError } from '../errors.js';
import { digestHex, type Digest } from '../oci/digest.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** What berth's builds are, for `buildType`. */
export const BERTH_BUILD_TYPE = 'https://berth.dev/buildtypes/image/v1';
/** The builder's id unless the run names another (`$BERTH_BUILDER_ID`). */
export const BERTH_BUILDER_ID = 'https://berth.dev/builder/v1';

/** `--attestation` names and the predicate types they stand for (cosign's names). */
export const ATTESTATION_TYPES: Readonly<Record<string, string>> = { slsaprovenance: SLSA_PROVENANCE_V1, slsaprovenance1: SLSA_PROVENANCE_V1 };

/** A resolved dependency: something the build read, by digest. */
export interface Dependency {
  /** `docker-image://registry/repo:tag`, `git+https://…`, `file:images/app/ImageSource`. */
  uri: string;
  /** `sha256:<hex>`, or for git the commit (`gitCommit`). */
  digest: Digest | { gitCommit: string };
  name?: string;
  annotations?: Record<string, string>;
}

/** What a build knew about itself. Every field optional but the platforms: each source says what it knows. */
export interface BuildFacts {
  /** The Dockerfile, relative to the working folder (or as given). */
  dockerfile?: string;
  target?: string;
  platforms: string[];
  /** Build arguments as given; those that look secret are left out of the statement. */
  buildArgs?: Record<string, string>;
  /** `native`, `buildah`, `docker`. */
  engine?: string;
  /** Base images by digest. */
  bases?: { name: string; digest: Digest }[];
  /** Other inputs by digest: ImageSource images, image tarballs. */
  sources?: { uri: string; digest: Digest; name?: string }[];
  git?: { commit: string; clean: boolean; uri?: string };
  /** ISO 8601 times of the build's start and end. */
  startedOn?: string;
  finishedOn?: string;
}

export interface StatementSubject {
  name: string;
  digest: Digest;
}

/** A build argument whose name says it holds a secret: left out of provenance. */
export function looksSecret(name: string): boolean {
  return /(SECRET|TOKEN|PASSWORD|PASSWD|PASS$|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|_KEY$|^KEY$|AUTH)/i.test(name);
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** The resolved dependencies of `facts`, in a fixed order: git, bases, then other sources. */
export function dependenciesOf(facts: BuildFacts): Dependency[] {
  const deps: Dependency[] = [];
  if (facts.git) deps.push({ uri: facts.git.uri ?? 'git', digest: { gitCommit: facts.git.commit }, annotations: { clean: String(facts.git.clean) } });
  const seen = new Set<string>();
  for (const b of [...(facts.bases ?? [])].sort(byKey((x) => `${x.name} ${x.digest}`))) {
    const k = `${b.name}@${b.digest}`;
    if (seen.has(k)) continue;
    seen.add(k);
    deps.push({ uri: `docker-image://${b.name}`, digest: b.digest, name: 'base' });
  }
  for (const s of [...(facts.sources ?? [])].sort(byKey((x) => `${x.uri} ${x.digest}`))) {
    const k = `${s.uri}@${s.digest}`;
    if (seen.has(k)) continue;
    seen.add(k);
    deps.push({ uri: s.uri, digest: s.digest, ...(s.name ? { name: s.name } : {}) });
  }
  return deps;
}

function descriptorJson(d: Dependency): Record<string, unknown> {
  const digest = typeof d.digest === 'string' ? { [d.digest.slice(0, d.digest.indexOf(':'))]: digestHex(d.digest) } : d.digest;
  return { uri: d.uri, digest, ...(d.name ? { name: d.name } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** The in-toto statement for `subjects` built from `facts`, as an object with its keys in a fixed order. */
export function provenanceStatement(subjects: readonly StatementSubject[], facts: BuildFacts, builder: { id?: string; version: string }): Record<string, unknown> {
  if (subjects.length === 0) throw new UsageError('BAD_FLAG', 'provenance: a statement needs a subject');
  const args = Object.fromEntries(
    Object.entries(facts.buildArgs ?? {})
      .filter(([k]) => !looksSecret(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const externalParameters = {
    ...(facts.dockerfile !== undefined ? { dockerfile: facts.dockerfile } : {}),
    ...(facts.target !== undefined ? { target: facts.target } : {}),
    platforms: [...facts.platforms].sort(),
    buildArgs: args,
  };
  const version: Record<string, string> = { berth: builder.version, ...(facts.engine ? { engine: facts.engine } : {}) };
  const metadata = { ...(facts.startedOn ? { startedOn: facts.startedOn } : {}), ...(facts.finishedOn ? { finishedOn: facts.finishedOn } : {}) };
  return {
    _type: STATEMENT_TYPE,
    subject: subjects.map((s) => ({ name: s.name, digest: { sha256: digestHex(s.digest) } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: { buildType: BERTH_BUILD_TYPE, externalParameters, internalParameters: {}, resolvedDependencies: dependenciesOf(facts).map(descriptorJson) },
      runDetails: { builder: { id: builder.id ?? BERTH_BUILDER_ID, version }, ...(Object.keys(metadata).length ? { metadata } : {}) },
    },
  };
}

/** The statement's bytes: compact JSON of the object above. */
export function statementBytes(statement: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

/** Facts of several builds (an index's platforms) as one: platforms and dependencies joined, the earliest start and latest end. */
export function mergeFacts(all: readonly BuildFacts[]): BuildFacts {
  const first = all[0] ?? { platforms: [] };
  const started = all.map((f) => f.startedOn).filter((t): t is string => !!t).sort();
  const finished = all.map((f) => f.finishedOn).filter((t): t is string => !!t).sort();
  const git = all.find((f) => f.git)?.git;
  return {
    ...(first.dockerfile !== undefined ? { dockerfile: first.dockerfile } : {}),
    ...(first.target !== undefined ? { target: first.target } : {}),
    platforms: [...new Set(all.flatMap((f) => f.platforms))],
    buildArgs: Object.assign({}, ...all.map((f) => f.buildArgs ?? {})) as Record<string, string>,
    ...(first.engine ? { engine: [...new Set(all.map((f) => f.engine).filter(Boolean))].join(',') } : {}),
    bases: all.flatMap((f) => f.bases ?? []),
    sources: all.flatMap((f) => f.sources ?? []),
    ...(git ? { git } : {}),
    ...(started.length ? { startedOn: started[0]! } : {}),
    ...(finished.length ? { finishedOn: finished.at(-1)! } : {}),
  };
}

/**
 * Reads a facts file (`<output>.provenance.json`, written by `berth build --provenance`):
 * bad JSON or a wrong shape is bad input naming the file.
 */
export function parseFacts(text: string, where: string): BuildFacts {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError('BAD_CONFIG', `${where}: not JSON (berth build --provenance writes this file)`);
  }
  const o = v as Partial<BuildFacts> & { _type?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.platforms) || !o.platforms.every((p) => typeof p === 'string')) throw new UsageError('BAD_CONFIG', `${where}: not berth build facts (no platforms list)`);
  const str = (x: unknown) => x === undefined || typeof x === 'string';
  if (!str(o.dockerfile) || !str(o.target) || !str(o.engine) || !str(o.startedOn) || !str(o.finishedOn)) throw new UsageError('BAD_CONFIG', `${where}: a field that should be text is not`);
  const digestOk = (d: unknown) => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d);
  for (const b of o.bases ?? []) if (typeof b?.name !== 'string' || !digestOk(b.digest)) throw new UsageError('BAD_CONFIG', `${where}: a base without a name and sha256 digest`);
  for (const s of o.sources ?? []) if (typeof s?.uri !== 'string' || !digestOk(s.digest)) throw new UsageError('BAD_CONFIG', `${where}: a source without a uri and sha256 digest`);
  if (o.git !== undefined && (typeof o.git.commit !== 'string' || typeof o.git.clean !== 'boolean')) throw new UsageError('BAD_CONFIG', `${where}: git needs commit and clean`);
  if (o.buildArgs !== undefined && (typeof o.buildArgs !== 'object' || Object.values(o.buildArgs).some((x) => typeof x !== 'string'))) throw new UsageError('BAD_CONFIG', `${where}: buildArgs must map names to text`);
  return o as BuildFacts;
}

/** The facts file beside an output: the image file's path with `.provenance.json` appended. */
export function factsFileFor(output: string): string {
  return `${output}.provenance.json`;
}
