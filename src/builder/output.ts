import { assembleIndex, imageDescriptor, inIndexOrder } from '../image/assemble.js';
import type { Digest } from '../oci/digest.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import { writeLocation } from '../transport/copy-image.js';
import type { Image } from '../transport/image.js';
import { checkOutputWritable, refuseNonFolder } from '../util/atomic.js';
import { tmpdir } from 'node:os';
import { withFsErrors } from '../util/fs-errors.js';
import { describeLocation, outputPath, type Location } from '../transport/location.js';
import { withWorkdir, workParentFor } from './workdir.js';

export interface WrittenImages {
  /** The index's digest over several images, else the one image's. */
  digest: Digest;
  mediaType: string;
  output: string;
  tags: string[];
  images: { platform: string; digest: Digest; layers: number }[];
}

/**
 * The scratch folder of a build that writes to `output`: on its file system, removed afterwards
 * (and on a signal). A file-system failure on the way is reported naming `output`, the path the
 * user gave, checked writable before any work; a tarball may stream to `-`, a device or a FIFO.
 */
export function withOutputWorkdir<T>(output: Location, fn: (dir: string) => Promise<T>): Promise<T> {
  return withFsErrors(outputPath(output), async () => {
    // A tarball may stream to stdout, a device or a FIFO; its work folder then goes to the temp folder.
    const target = output.kind === 'tarball' ? await checkOutputWritable(output.path, { stream: true }) : await refuseNonFolder(output.dir);
    return withWorkdir(target?.kind === 'stream' ? tmpdir() : workParentFor(output), fn);
  });
}

/**
 * Writes built images to a tarball or layout under `tags`: one image as itself, several as
 * an index over them, in the canonical index order (every berth build that makes images ends here).
 */
export async function writeImages(output: Location, built: { image: Image; platform: Platform }[], tags: Reference[], format: Format, epoch: number): Promise<WrittenImages> {
  const images = inIndexOrder(built); // as the index lists them, for the report too
  const names = tags.map(formatReference);
  const index = images.length > 1 ? assembleIndex(images.map(({ image, platform }) => imageDescriptor(image, platform)), format) : undefined;
  await writeLocation(output, index ? { images, index } : { images }, names, epoch);
  return {
    digest: index?.digest ?? images[0]!.image.digest,
    mediaType: index?.mediaType ?? images[0]!.image.mediaType,
    output: describeLocation(output),
    tags: names,
    images: images.map(({ image, platform }) => ({ platform: formatPlatform(platform), digest: image.digest, layers: image.manifest.layers.length })),
  };
}
