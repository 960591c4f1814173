/**
 * What an image folder's build is made from, for its provenance (`berth images push
 * --provenance`): the Dockerfile (or ImageSource) of each platform, the build arguments
 * (variant's and --build-arg's), the ImageSource images by digest, and the checkout's commit.
 */
import { join, relative } from 'node:path';
import { formatPlatform } from '../oci/platform.js';
import { formatReference } from '../oci/reference.js';
import type { BuildFacts } from '../sign/provenance-statement.js';
import type { PlannedImage } from './folder-plan.js';

export function imageFacts(image: PlannedImage, opts: { cwd: string; git?: BuildFacts['git']; startedOn?: string; finishedOn?: string }): BuildFacts {
  const files = [...new Set(image.platforms.map((p) => relative(opts.cwd, join(image.folder.dir, p.source.file)).split('\\').join('/')))];
  const dockerfiles = image.platforms.filter((p) => p.source.kind === 'dockerfile').map((p) => relative(opts.cwd, join(image.folder.dir, p.source.file)).split('\\').join('/'));
  return {
    ...(dockerfiles.length ? { dockerfile: [...new Set(dockerfiles)].sort().join(',') } : {}),
    platforms: image.platforms.map((p) => formatPlatform(p.platform)),
    buildArgs: { ...image.buildArgs },
    sources: image.platforms.flatMap((p) => (p.taken ? [{ uri: `docker-image://${formatReference(p.taken.ref)}`, digest: p.taken.image.digest, name: `${files.find((f) => f.endsWith(p.source.file)) ?? p.source.file}` }] : [])),
    ...(opts.git ? { git: opts.git } : {}),
    ...(opts.startedOn ? { startedOn: opts.startedOn } : {}),
    ...(opts.finishedOn ? { finishedOn: opts.finishedOn } : {}),
  };
}
