import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Challenge } from './auth.js';
import { DEFAULT_CHUNK_SIZE, DEFAULT_MONOLITHIC_MAX, RegistryBlobs } from './blobs.js';
import { RegistryManifests, type RemoteManifest } from './manifests.js';
import { RegistrySession, type SessionOptions } from './session.js';

export { MANIFEST_ACCEPT, type RemoteManifest } from './manifests.js';
export { DEFAULT_CHUNK_SIZE, DEFAULT_MONOLITHIC_MAX } from './blobs.js';
export { isLoopbackAddress } from './session.js';

export interface RegistryClientOptions extends SessionOptions {
  /** Blobs up to this size go up in one PUT; larger ones in PATCH chunks. */
  monolithicMax?: number;
  /** The size of one PATCH. */
  chunkSize?: number;
}

/**
 * A client for one registry host speaking the OCI distribution API: auth (anonymous, Basic,
 * Bearer tokens per scope, renewed before expiry and on a 401), blobs (HEAD, mount,
 * monolithic and chunked uploads with resumption, resumable verified downloads) and
 * manifests (HEAD, GET with digest checks, PUT). Every operation retries temporary
 * failures within the retry policy. It never prints; `log` gets redacted request lines.
 *
 * A facade: the session (session.ts: scheme, challenge, credentials, tokens, the request
 * path), blobs (blobs.ts) and manifests (manifests.ts) do the work.
 */
export class RegistryClient {
  readonly host: string;
  private readonly session: RegistrySession;
  private readonly blobs: RegistryBlobs;
  private readonly manifests: RegistryManifests;

  constructor(host: string, opts: RegistryClientOptions = {}) {
    const { monolithicMax, chunkSize, ...sessionOpts } = opts;
    this.host = host;
    this.session = new RegistrySession(host, sessionOpts);
    this.blobs = new RegistryBlobs(this.session, { monolithicMax: monolithicMax ?? DEFAULT_MONOLITHIC_MAX, chunkSize: chunkSize ?? DEFAULT_CHUNK_SIZE });
    this.manifests = new RegistryManifests(this.session, this.blobs);
  }

  /** `http(s)://host`: a `*.localhost` host is https until it is found to resolve to loopback. */
  get base(): string {
    return this.session.base;
  }

  /**
   * Starts the API check (GET /v2/) in the background, so it overlaps with other work; its
   * failure surfaces on the first real request.
   */
  prepare(): void {
    this.session.prepare();
  }

  /**
   * Says that `repo` is being pushed to: its reads (HEADs before uploads) then ask for the
   * same `pull,push` scope as the writes, so one token serves the whole push.
   */
  forPush(repo: string): void {
    this.session.forPush(repo);
  }

  /** Ends what runs in the background, and closes the connections this client opened (not a shared transport's). */
  close(): void {
    this.session.close();
  }

  /**
   * Checks the credential as `docker login` does: GET /v2/ with it (Basic, or a token asked
   * for with no scope). Resolves to how the registry authenticates ('none' needs no login);
   * a refusal is an UNAUTHORIZED RegistryError that names where the credential came from.
   */
  checkLogin(signal?: AbortSignal): Promise<Challenge['scheme']> {
    return this.session.checkLogin(signal);
  }

  /** Whether the repository has the blob (HEAD). A size that disagrees is an error. */
  hasBlob(repo: string, desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return this.blobs.hasBlob(repo, desc, signal);
  }

  /** Mounts a blob from another repository of the registry, or opens an upload (see RegistryBlobs.mountBlob). */
  mountBlob(repo: string, desc: Descriptor, from: string, signal?: AbortSignal): Promise<{ mounted: true } | { mounted: false; location: string }> {
    return this.blobs.mountBlob(repo, desc, from, signal);
  }

  /** Uploads a blob, resuming after failures; `open` gives its bytes from the start (see RegistryBlobs.uploadBlob). */
  uploadBlob(repo: string, desc: Descriptor, open: () => Promise<Readable>, opts: { signal?: AbortSignal; onProgress?: (sent: number) => void; location?: string } = {}): Promise<void> {
    return this.blobs.uploadBlob(repo, desc, open, opts);
  }

  /** The blob's bytes as a stream checked against its digest and size, resumed when a connection breaks. */
  fetchBlob(repo: string, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    return this.blobs.fetchBlob(repo, desc, signal);
  }

  /** The descriptor a tag or digest resolves to (HEAD), or undefined when there is none. */
  headManifest(repo: string, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    return this.manifests.headManifest(repo, reference, signal);
  }

  /** Reads a manifest or index by tag or digest; its bytes must match the digest asked for and the registry's. */
  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<RemoteManifest> {
    return this.manifests.getManifest(repo, reference, signal);
  }

  /**
   * Stores a manifest under a tag or its digest; the registry's digest must be ours. Resolves
   * to the `OCI-Subject` header of the answer (a registry with the OCI 1.1 referrers API).
   */
  putManifest(repo: string, reference: string, manifest: { mediaType: string; raw: Uint8Array; digest: Digest }, signal?: AbortSignal): Promise<{ ociSubject?: string }> {
    return this.manifests.putManifest(repo, reference, manifest, signal);
  }
}
