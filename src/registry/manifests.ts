/**
 * Manifests and indexes on a registry, over a RegistrySession: HEAD, GET checked against
 * the digest asked for and the registry's, and PUT with distribution 2.8's settling answers
 * told apart from real refusals.
 */
import { createHash } from 'node:crypto';
import { digestAlgorithm, isDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import { sniffMediaType } from '../oci/manifest.js';
import { repoScope } from './auth.js';
import type { RegistryBlobs } from './blobs.js';
import { RegistryError } from './registry-error.js';
import { drain, header, readBody } from './http.js';
import type { RegistrySession } from './session.js';

/** Every manifest type berth reads, in the `Accept` of manifest requests. */
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

/** A manifest (or index) as a registry stores it: the exact bytes and the digest of them. */
export interface RemoteManifest {
  mediaType: string;
  digest: Digest;
  raw: Uint8Array;
}

/** What distribution 2.8 answers a manifest PUT while a blob or child it names is still being committed. */
const SETTLING_CODES = new Set(['MANIFEST_BLOB_UNKNOWN', 'BLOB_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_UNKNOWN']);

/** The manifest operations of one registry host. */
export class RegistryManifests {
  constructor(
    private readonly session: RegistrySession,
    /** For the settling check: the blobs a manifest names are looked up with a HEAD. */
    private readonly blobs: RegistryBlobs,
  ) {}

  /** The descriptor a tag or digest resolves to (HEAD), or undefined when there is none. */
  async headManifest(repo: string, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    return this.session.retry(`manifest ${reference}`, signal, async () => {
      const res = await this.session.request({ method: 'HEAD', path: `${repo}/manifests/${reference}`, repo, scopes: [this.session.readScope(repo)], what: `manifest ${reference}`, headers: { accept: MANIFEST_ACCEPT }, expect: [200, 404], ...(signal ? { signal } : {}) });
      await drain(res);
      if (res.status === 404) return undefined;
      const digest = header(res, 'docker-content-digest');
      const size = Number(header(res, 'content-length'));
      const mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
      if (!digest || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType) {
        // Without a digest header a HEAD cannot say what the tag is: read it.
        const m = await this.getManifest(repo, reference, signal);
        return { mediaType: m.mediaType, digest: m.digest, size: m.raw.length };
      }
      if (isDigest(reference) && digest !== reference) throw this.session.fail(res, 'HEAD', `${this.session.host}/${repo}: manifest ${reference} is answered with digest ${digest}`, false, 'DIGEST_MISMATCH');
      return { mediaType, digest, size };
    });
  }

  /**
   * Reads a manifest or index by tag or digest, with the full Accept list. Its digest is
   * computed from the bytes and must equal the digest asked for, and the registry's
   * Docker-Content-Digest when it sends one.
   */
  async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<RemoteManifest> {
    return this.session.retry(`manifest ${reference}`, signal, async () => {
      const res = await this.session.request({ method: 'GET', path: `${repo}/manifests/${reference}`, repo, scopes: [this.session.readScope(repo)], what: `manifest ${reference}`, headers: { accept: MANIFEST_ACCEPT }, expect: [200], ...(signal ? { signal } : {}) });
      const raw = await readBody(res, 4 << 20);
      const claimed = header(res, 'docker-content-digest');
      const want = isDigest(reference) ? reference : claimed && isDigest(claimed) ? claimed : undefined;
      const algorithm = want ? digestAlgorithm(want) : 'sha256';
      const digest = `${algorithm}:${createHash(algorithm).update(raw).digest('hex')}` as Digest;
      if (want && digest !== want) {
        throw this.session.fail(res, 'GET', `${this.session.host}/${repo}: manifest ${reference} does not match its digest (expected ${want}, its bytes hash to ${digest})`, false, 'DIGEST_MISMATCH');
      }
      if (claimed && isDigest(claimed) && claimed !== digest && digestAlgorithm(claimed) === algorithm) {
        throw this.session.fail(res, 'GET', `${this.session.host}/${repo}: manifest ${reference} does not match the registry's Docker-Content-Digest ${claimed}`, false, 'DIGEST_MISMATCH');
      }
      const contentType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
      let mediaType = contentType;
      if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
        try {
          mediaType = sniffMediaType(JSON.parse(Buffer.from(raw).toString('utf8'))) ?? mediaType;
        } catch {
          // parseManifestOrIndex reports it properly
        }
      }
      return { mediaType, digest, raw };
    });
  }

  /**
   * Stores a manifest under a tag or its digest; the registry's digest must be ours. Resolves to the `OCI-Subject` header of the answer, which a registry with
   * the OCI 1.1 referrers API sends for a manifest with a `subject` (absent otherwise).
   */
  async putManifest(repo: string, reference: string, manifest: { mediaType: string; raw: Uint8Array; digest: Digest }, signal?: AbortSignal): Promise<{ ociSubject?: string }> {
    const what = isDigest(reference) ? `manifest ${reference}` : `tag ${reference} (manifest ${manifest.digest})`;
    return this.session.retry(what, signal, async () => {
      const res = await this.session.request({
        method: 'PUT',
        path: `${repo}/manifests/${reference}`,
        repo,
        scopes: [repoScope(repo, 'pull,push')],
        what,
        headers: { 'content-type': manifest.mediaType },
        body: manifest.raw,
        expect: [200, 201],
        ...(signal ? { signal } : {}),
      }).catch(async (err: unknown) => {
        throw await this.settling(err, repo, manifest, signal);
      });
      await drain(res);
      this.session.checkDigestHeader(res, 'PUT', manifest.digest, what);
      const subject = header(res, 'oci-subject');
      return subject ? { ociSubject: subject } : {};
    });
  }

  /**
   * A manifest PUT answered 400 MANIFEST_BLOB_UNKNOWN (or BLOB_UNKNOWN, DIGEST_INVALID,
   * MANIFEST_UNKNOWN) while everything the manifest names is in the repository: distribution
   * says so while it is still committing a child or blob another push (or this one) has just
   * had accepted. When a HEAD finds every referenced blob and child there, the answer is
   * temporary and the PUT is tried again (within the retry budget); otherwise it stands.
   */
  private async settling(err: unknown, repo: string, manifest: { raw: Uint8Array }, signal?: AbortSignal): Promise<unknown> {
    if (!(err instanceof RegistryError) || err.details.status !== 400 || !err.details.registryCodes.some((c) => SETTLING_CODES.has(c))) return err;
    let doc: { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    try {
      doc = JSON.parse(Buffer.from(manifest.raw).toString('utf8')) as typeof doc;
    } catch {
      return err;
    }
    const present = async (): Promise<boolean> => {
      for (const d of doc.manifests ?? []) if ((await this.headManifest(repo, d.digest, signal))?.digest !== d.digest) return false;
      for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
        if (d.mediaType?.includes('.foreign.') || d.mediaType?.includes('.nondistributable.')) continue;
        if (!(await this.blobs.hasBlob(repo, d, signal))) return false;
      }
      return true;
    };
    if (!(await present().catch(() => false))) return err;
    return new RegistryError(err.code, `${err.message}; everything it names is there: the registry is still committing it`, { ...err.details, temporary: true }, { cause: err });
  }
}
