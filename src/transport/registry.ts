/**
 * The registry transport: `docker://REF`, or a reference that cannot be a path. Reading is
 * registry-read.ts, writing registry-write.ts; both are exported from here as well.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import { readRegistry } from './registry-read.js';
import { targetTags, writeRegistry } from './registry-write.js';
import type { Transport } from './transport.js';

export { isRemoteBlobSource, prefetchLayers, pullBaseImage, readRegistry, type RegistryOptions, type RemoteBlobSource } from './registry-read.js';
export { targetTags, writeRegistry, type PushResult, type WriteRegistryOptions } from './registry-write.js';

/** An image in a registry: `docker://REF`, or a reference that cannot be a path. */
export type RegistryLocation = { kind: 'registry'; ref: Reference };

/**
 * Without the `docker://` prefix, text is a registry reference only when all of these hold,
 * so that a relative path such as `out/x.tar` is never taken for one: it is not an existing
 * path, it does not start with `/`, `.` or `~` and does not end in `.tar`, and its first
 * component names a registry host (holds a dot or a colon, or is `localhost`) before a `/`.
 */
function looksLikeRegistryReference(text: string): boolean {
  if (/^(oci|oci-archive|docker-archive):/.test(text) || /^[/.~]/.test(text) || text.endsWith('.tar')) return false;
  const slash = text.indexOf('/');
  if (slash <= 0) return false;
  const first = text.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

export const registryTransport: Transport<RegistryLocation> = {
  kind: 'registry',
  claims: (text, cwd) => text.startsWith('docker://') || (looksLikeRegistryReference(text) && !existsSync(resolve(cwd, text))),
  // `docker://REF` is always a reference, weakly parsed (`docker://alpine` is docker.io/library/alpine:latest).
  parse: (text, _cwd, what) =>
    text.startsWith('docker://') ? { kind: 'registry', ref: parseReference(text.slice('docker://'.length), { what }) } : { kind: 'registry', ref: parseReference(text, { what, strict: false }) },
  describe: (loc) => formatReference(loc.ref),
  read(loc, registries) {
    if (!registries) throw new Error(`reading ${formatReference(loc.ref)} needs registries`);
    return readRegistry(registries, loc.ref);
  },
  prepareWrite(loc, registries, names) {
    if (names.length) throw new UsageError('BAD_FLAG', `--tag names a local copy (image tarball or oci:DIR); for a registry, put the tag in the destination (${formatReference(loc.ref)})`);
    // Reach the destination registry (API check, credentials) while the source is read.
    registries.client(loc.ref.registry).prepare();
  },
  oneArtifact: true,
  async write(loc, artifact, opts) {
    const tags = targetTags(loc.ref, artifact, formatReference(loc.ref));
    const push = await writeRegistry(opts.registries, artifact, loc.ref, { tags, ...(opts.signal ? { signal: opts.signal } : {}) });
    return { destination: tags.length ? push.tags.join(', ') : push.reference, push };
  },
  // A registry source names what a local copy writes (RepoTags, ref.name) by its tag.
  defaultNames: (loc) => (loc.ref.tag !== undefined ? [formatReference({ registry: loc.ref.registry, repository: loc.ref.repository, tag: loc.ref.tag })] : []),
};
