/**
 * Blobs on a registry, over a RegistrySession: HEAD, cross-repository mount, monolithic and
 * chunked uploads that resume where the registry says they stand, and downloads checked
 * against their digest that resume with Range requests.
 */
import { pipeline, Readable, type Transform } from 'node:stream';
import { OperationalError } from '../errors.js';
import { verifyingStream } from '../blob/verify-stream.js';
import type { Descriptor } from '../oci/descriptor.js';
import { repoScope } from './auth.js';
import { ByteTaker } from './bytes.js';
import { networkError, RegistryError } from './registry-error.js';
import { drain, header, type HttpResponse } from './http.js';
import { RetryBudget, sleep } from './retry.js';
import type { RegistrySession } from './session.js';

export const DEFAULT_MONOLITHIC_MAX = 32 << 20;
export const DEFAULT_CHUNK_SIZE = 64 << 20;

/** When a blob goes up in one PUT, and how large each PATCH of a chunked upload is. */
export interface UploadSizes {
  /** Blobs up to this size go up in one PUT; larger ones in PATCH chunks. */
  monolithicMax: number;
  /** The size of one PATCH. */
  chunkSize: number;
}

/** The blob operations of one registry host. */
export class RegistryBlobs {
  constructor(
    private readonly session: RegistrySession,
    private readonly sizes: UploadSizes,
  ) {}

  /** Whether the repository has the blob (HEAD). A size that disagrees is an error. */
  async hasBlob(repo: string, desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return this.session.retry(`blob ${desc.digest}`, signal, async () => {
      const res = await this.session.request({ method: 'HEAD', path: `${repo}/blobs/${desc.digest}`, repo, scopes: [this.session.readScope(repo)], what: `blob ${desc.digest}`, expect: [200, 404], ...(signal ? { signal } : {}) });
      await drain(res);
      if (res.status === 404) return false;
      const len = header(res, 'content-length');
      if (len !== undefined && Number(len) !== desc.size) {
        throw this.session.fail(res, 'HEAD', `${this.session.host}/${repo} has blob ${desc.digest} with ${len} bytes, its descriptor says ${desc.size}`, false);
      }
      return true;
    });
  }

  /**
   * Asks the registry to mount a blob from another repository of the same registry. When it
   * will not (the blob is not there, or mounting is off) it opens an upload instead, whose
   * location is returned for uploadBlob.
   */
  async mountBlob(repo: string, desc: Descriptor, from: string, signal?: AbortSignal): Promise<{ mounted: true } | { mounted: false; location: string }> {
    return this.session.retry(`blob ${desc.digest}`, signal, async () => {
      const path = `${repo}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
      const res = await this.session.request({
        method: 'POST',
        path,
        repo,
        scopes: [repoScope(repo, 'pull,push'), repoScope(from, 'pull')],
        what: `mount of blob ${desc.digest} from ${from}`,
        body: new Uint8Array(0),
        expect: [201, 202],
        ...(signal ? { signal } : {}),
      });
      await drain(res);
      if (res.status === 201) {
        this.session.checkDigestHeader(res, 'POST', desc.digest, `mount of blob ${desc.digest}`);
        return { mounted: true };
      }
      return { mounted: false, location: this.session.location(res, 'POST').toString() };
    });
  }

  /**
   * Uploads a blob: one PUT up to the monolithic size, else PATCH chunks then a PUT. `open`
   * gives the blob's bytes from the start (a verifying stream); it is called again for each
   * try. After a failure the upload resumes where the registry says it stands, when it can
   * say; otherwise a fresh upload starts. The registry's digest is checked at the end.
   */
  async uploadBlob(
    repo: string,
    desc: Descriptor,
    open: () => Promise<Readable>,
    opts: { signal?: AbortSignal; onProgress?: (sent: number) => void; location?: string } = {},
  ): Promise<void> {
    const what = `blob ${desc.digest}`;
    let location: URL | undefined = opts.location ? new URL(opts.location) : undefined;
    let fresh = location !== undefined;
    const scopes = [repoScope(repo, 'pull,push')];
    await this.session.retry(what, opts.signal, async (budget) => {
      let offset = 0;
      if (location && !fresh) {
        budget.step('upload status');
        const status = await this.uploadStatus(repo, location, opts.signal);
        budget.progress();
        location = status?.location;
        offset = status?.offset ?? 0;
        if (location && offset > 0 && desc.size <= this.sizes.monolithicMax) {
          // a monolithic PUT cannot continue a partial upload: start afresh
          location = undefined;
          offset = 0;
        }
      }
      fresh = false;
      if (!location) {
        budget.step('POST');
        location = await this.startUpload(repo, opts.signal);
        budget.progress();
      }
      const source = await open();
      const taker = new ByteTaker(source, offset);
      let sent = offset;
      const count = (n: number) => {
        sent += n;
        opts.onProgress?.(sent);
      };
      opts.onProgress?.(sent);
      try {
        if (desc.size <= this.sizes.monolithicMax && offset === 0) {
          const url = new URL(location);
          url.searchParams.set('digest', desc.digest);
          const body = { length: desc.size, stream: taker.take(desc.size, count) };
          budget.step('PUT');
          const res = await this.session.request({ method: 'PUT', path: url, repo, scopes, what, headers: { 'content-type': 'application/octet-stream' }, body, expect: [201], ...(opts.signal ? { signal: opts.signal } : {}) });
          await drain(res);
          await taker.finish();
          this.session.checkDigestHeader(res, 'PUT', desc.digest, what);
          return;
        }
        while (offset < desc.size) {
          const n = Math.min(this.sizes.chunkSize, desc.size - offset);
          const body = { length: n, stream: taker.take(n, count) };
          const headers = { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + n - 1}` };
          budget.step(`PATCH ${offset}`);
          const res = await this.session.request({ method: 'PATCH', path: location, repo, scopes, what, headers, body, expect: [202], ...(opts.signal ? { signal: opts.signal } : {}) });
          await drain(res);
          location = this.session.location(res, 'PATCH');
          const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res, 'range') ?? '');
          const end = range ? Number(range[1]) + 1 : offset + n;
          if (end !== offset + n) {
            // The registry holds other than what was sent: ask it where it stands and resume.
            throw this.session.fail(res, 'PATCH', `${this.session.host}/${repo}: upload of ${what} holds ${end} bytes after sending ${offset + n}`, true);
          }
          offset = end;
          budget.progress();
        }
        await taker.finish();
        const url = new URL(location);
        url.searchParams.set('digest', desc.digest);
        budget.step('PUT');
        const res = await this.session.request({ method: 'PUT', path: url, repo, scopes, what, body: new Uint8Array(0), expect: [201], ...(opts.signal ? { signal: opts.signal } : {}) });
        await drain(res);
        this.session.checkDigestHeader(res, 'PUT', desc.digest, what);
      } finally {
        source.destroy();
      }
    });
  }

  private async startUpload(repo: string, signal?: AbortSignal): Promise<URL> {
    const res = await this.session.request({ method: 'POST', path: `${repo}/blobs/uploads/`, repo, scopes: [repoScope(repo, 'pull,push')], what: 'a blob upload', body: new Uint8Array(0), expect: [202], ...(signal ? { signal } : {}) });
    await drain(res);
    return this.session.location(res, 'POST');
  }

  /** Where an upload stands (GET on its location), or undefined when the session is gone. */
  private async uploadStatus(repo: string, location: URL, signal?: AbortSignal): Promise<{ location: URL; offset: number } | undefined> {
    const res = await this.session.request({ method: 'GET', path: location, repo, scopes: [repoScope(repo, 'pull,push')], what: 'upload status', expect: [204, 404, 400, 416], ...(signal ? { signal } : {}) });
    await drain(res);
    if (res.status !== 204) return undefined;
    const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res, 'range') ?? '');
    return { location: header(res, 'location') ? this.session.location(res, 'GET') : location, offset: range ? Number(range[1]) + 1 : 0 };
  }

  /**
   * The blob's bytes as a stream checked against its digest and size. A connection that
   * breaks part-way is resumed with a Range request (or re-read from the start when the
   * server ignores Range), within the retry policy.
   */
  async fetchBlob(repo: string, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const what = `blob ${desc.digest}`;
    const first = await this.session.retry(what, signal, () => this.blobRequest(repo, desc, 0, signal));
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      let received = 0;
      let res: HttpResponse | undefined = first;
      // Each resumed GET (from a new offset) has its own tries; bytes received are progress.
      const budget = new RetryBudget(self.session.policy);
      for (;;) {
        budget.step(`GET from ${received}`);
        try {
          if (!res) res = await self.blobRequest(repo, desc, received, signal);
          let skip = received > 0 && res.status === 200 ? received : 0;
          for await (const c of res.body) {
            let buf = c as Buffer;
            if (skip > 0) {
              const drop = Math.min(skip, buf.length);
              skip -= drop;
              buf = buf.subarray(drop);
              if (buf.length === 0) continue;
            }
            received += buf.length;
            budget.progress();
            yield buf;
          }
          if (received >= desc.size) return;
          throw new RegistryError('NETWORK', `GET ${self.session.base}/v2/${repo}/blobs/${desc.digest}: the body ended after ${received} of ${desc.size} bytes`, {
            method: 'GET',
            url: `${self.session.base}/v2/${repo}/blobs/${desc.digest}`,
            registryCodes: [],
            temporary: true,
          });
        } catch (err) {
          const e = err instanceof RegistryError ? err : networkError('GET', new URL(`${self.session.base}/v2/${repo}/blobs/${desc.digest}`), err);
          const { attempt, delayMs } = budget.fail(e, signal);
          self.session.onRetry({ what, attempt, delayMs, reason: e.message });
          await sleep(delayMs, signal);
          res = undefined;
        }
      }
    }
    const out: Transform = verifyingStream(desc, `${this.session.host}/${repo}`, (m) => new OperationalError('DIGEST_MISMATCH', m));
    pipeline(Readable.from(bytes()), out, () => {});
    return out;
  }

  private async blobRequest(repo: string, desc: Descriptor, from: number, signal?: AbortSignal): Promise<HttpResponse> {
    return this.session.request({
      method: 'GET',
      path: `${repo}/blobs/${desc.digest}`,
      repo,
      scopes: [this.session.readScope(repo)],
      what: `blob ${desc.digest}`,
      expect: [200, 206],
      ...(from > 0 ? { headers: { range: `bytes=${from}-` } } : {}),
      ...(signal ? { signal } : {}),
    });
  }
}
