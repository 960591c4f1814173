import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { summariseImage, summariseIndex, type Summary } from '../image/summary.js';
import type { Artifact } from './image.js';

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
