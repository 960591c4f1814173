import { UsageError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';

/** An image reference: `registry/repository[:tag][@digest]`. */
export interface Reference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** Docker Hub as references name it. */
export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's distribution API answers on. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** Every name of Docker Hub: the reference name, the API host and `index.docker.io` (its v1 name, still docker's auth key). */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([DOCKER_HUB, 'index.docker.io', DOCKER_HUB_API_HOST]);

/** Whether `host` (lowercase, no scheme or port) is one of Docker Hub's names: the one owner of the list, for references and credentials alike. */
export function isDockerHub(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host);
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_RE = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const MAX_NAME_LENGTH = 255;

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Throws unless `tag` fits the OCI tag grammar `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`. */
export function validateTag(tag: string, what = 'tag'): string {
  if (!isValidTag(tag)) {
    throw new UsageError('BAD_TAG', `${what}: "${tag}" is not a valid tag (want [A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  }
  return tag;
}

export interface ParseReferenceOptions {
  /** Require an explicit registry and a tag or digest: no docker.io, library/ or latest filled in. */
  strict?: boolean;
  /** Names the input in errors, e.g. "--tag". */
  what?: string;
}

/**
 * Parses a reference the way docker and crane do. Weak by default: `alpine` is
 * `docker.io/library/alpine:latest`. The registry is the first component when it holds a dot
 * or a colon or is `localhost`.
 */
export function parseReference(text: string, opts: ParseReferenceOptions = {}): Reference {
  const what = opts.what ?? 'reference';
  const fail = (why: string): never => {
    throw new UsageError('BAD_REFERENCE', `${what}: "${text}" is not a valid image reference: ${why}`);
  };
  if (text === '') fail('it is empty');
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) fail(`"${d}" is not a digest (want sha256:<64 hex>)`);
    digest = d as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!isValidTag(tag)) fail(`the tag "${tag}" does not fit [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
    rest = rest.slice(0, colon);
  }
  // `app:v1:extra`: a second colon after the last slash is not a port (ports precede a /).
  if (tag !== undefined && rest.slice(rest.lastIndexOf('/') + 1).includes(':')) fail(`it has more than one tag (a name takes one :TAG; "${rest.slice(rest.lastIndexOf('/') + 1)}:${tag}")`);
  const parts = rest.split('/');
  let registry: string;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    registry = first;
    parts.shift();
    if (!DOMAIN_RE.test(registry)) fail(`"${registry}" is not a registry host`);
    // Docker's grammar takes `UPPER/repo` for host UPPER only because of its capitals: what was
    // meant is a repository, and repository names are lowercase (a push would fail).
    if (!first.includes('.') && !first.includes(':') && first !== 'localhost') fail(`"${first}" must be lowercase letters, digits and separators (a registry host needs a dot or a port)`);
  } else {
    if (opts.strict) fail('name the registry, e.g. quay.io/org/name:tag');
    registry = DOCKER_HUB;
  }
  if (isDockerHub(registry)) {
    registry = DOCKER_HUB;
    if (parts.length === 1) parts.unshift('library');
  }
  for (const p of parts) {
    if (!PATH_COMPONENT_RE.test(p)) fail(p === '' ? 'it has an empty path component' : `"${p}" must be lowercase letters, digits and separators`);
  }
  const repository = parts.join('/');
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) {
    if (opts.strict) fail('name a tag or a digest');
    tag = 'latest';
  }
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository` */
export function repositoryName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full reference; the exact inverse of parseReference for the strings it makes. */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/**
 * The name Docker shows: `docker.io/library/` and `docker.io/` dropped, as `docker images`
 * and `docker save` write RepoTags.
 */
export function familiarName(ref: Reference): string {
  let repo = repositoryName(ref);
  if (ref.registry === DOCKER_HUB) repo = ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  let s = repo;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}
