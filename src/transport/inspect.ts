import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { summariseImage, summariseIndex, type NameEntry, type Summary } from '../image/summary.js';
import { UsageError } from '../errors.js';
import { formatPlatform } from '../oci/platform.js';
import type { Artifact } from './image.js';
import { dockerArchiveTags, readDockerArchive } from './docker-archive.js';
import { directoryFiles, tarballFiles } from './layout-files.js';
import { layoutEntries, loadArtifact, refNames } from './layout-read.js';
import type { Location } from './location.js';
import { imagePlatform } from './select.js';

/**
 * Summarises an image or index, reading every blob through its digest check: a blob whose
 * bytes do not match its descriptor fails the whole inspection.
 */
export async function inspectArtifact(artifact: Artifact): Promise<Summary> {
  if (artifact.kind === 'index') {
    const children: Summary[] = [];
    for (const desc of artifact.index.manifests) children.push(await inspectArtifact(await artifact.child(desc)));
    return summariseIndex(artifact.mediaType, artifact.digest, artifact.raw.length, artifact.index, children);
  }
  for (const layer of artifact.manifest.layers) {
    await pipeline(await artifact.blobs.open(layer), new Writable({ write: (_c, _e, cb) => cb() }));
  }
  return summariseImage(artifact.mediaType, artifact.digest, artifact.manifestRaw.length, artifact.manifest, artifact.config);
}

/**
 * The names a local location gives its images (index.json's ref.name annotations), each with
 * what it points at. Entries without a name are listed as "(no name)". A Docker archive with
 * no OCI layout gives its RepoTags.
 */
export async function locationNames(loc: Location): Promise<NameEntry[]> {
  const path = loc.kind === 'layout' ? loc.dir : loc.path;
  const files = loc.kind === 'layout' || (await stat(path)).isDirectory() ? directoryFiles(path) : await tarballFiles(path);
  const out: NameEntry[] = [];
  if (!(await files.has('oci-layout'))) {
    // A docker save archive (older Docker, skopeo's docker-archive:): its names are manifest.json's RepoTags.
    if (loc.kind !== 'tarball') return [];
    for (const name of await dockerArchiveTags(files, path)) {
      const image = await readDockerArchive(path, name);
      out.push({ name, digest: image.digest, mediaType: image.mediaType, platforms: [formatPlatform(imagePlatform(image))] });
    }
    return out;
  }
  for (const desc of await layoutEntries(files, loc.name)) {
    const artifact = await loadArtifact(files, desc);
    const platforms =
      artifact.kind === 'image'
        ? [formatPlatform(imagePlatform(artifact))]
        : artifact.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : m.mediaType));
    const names = refNames(desc);
    for (const name of names.length ? names : ['(no name)']) out.push({ name, digest: desc.digest, mediaType: artifact.mediaType, platforms });
  }
  return out;
}

/**
 * A local source read whole (no NAME given) for a destination that keeps one artifact under
 * one reference: several names would make it an index stored nowhere over other indexes, a
 * nested index that podman and docker refuse. One name is meant; the error says how to give
 * it (`transport` is `oci` or `oci-archive`, as `path` is a folder or a file).
 */
export async function refuseSeveralNames(loc: Location, where: string, path: string, transport: () => Promise<string>): Promise<void> {
  if (loc.name !== undefined) return;
  // An unreadable source is reported by the read that follows, as for any copy.
  const named = [...new Set((await locationNames(loc).catch(() => [])).map((n) => n.name))];
  const prefix = await transport();
  if (named.length > 1) throw new UsageError('BAD_LAYOUT', `${where} holds ${named.length} names (${named.join(', ')}): push one of them, as ${prefix}:${path}:NAME`);
}
