import { join } from 'node:path';
import { assembleIndex, imageDescriptor } from '../image/assemble.js';
import type { Digest } from '../oci/digest.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { describeLocation, type Location } from '../transport/location.js';
import { writeImageTarball } from '../transport/tarball-write.js';
import { writeOutput } from './build.js';
import { buildStaticBase } from './static-base.js';
import { withWorkdir } from './workdir.js';

export interface StaticBaseOptions {
  platforms: Platform[];
  output: Location;
  tags: Reference[];
  format: Format;
  level: number;
  epoch: number;
}

/**
 * Writes berth's static base for each platform: one image, or for several platforms an
 * index over them (a tarball) or one entry per platform (a layout).
 */
export async function writeStaticBase(opts: StaticBaseOptions): Promise<{ digest: Digest; platforms: string[]; output: string; images: { platform: string; digest: Digest }[] }> {
  const outPath = opts.output.kind === 'tarball' ? opts.output.path : join(opts.output.dir, 'index.json');
  return withWorkdir(outPath, async (work) => {
    const images: { image: Image; platform: Platform }[] = [];
    for (const [i, platform] of opts.platforms.entries()) {
      const image = await buildStaticBase({ platform, epoch: opts.epoch, level: opts.level, format: opts.format, work, name: `static-${i}` });
      images.push({ image, platform });
    }
    const names = opts.tags.map(formatReference);
    let digest = images[0]!.image.digest;
    if (opts.output.kind === 'tarball' && images.length > 1) {
      const index = assembleIndex(images.map(({ image, platform }) => imageDescriptor(image, platform)), opts.format);
      digest = index.digest;
      await writeImageTarball(opts.output.path, { images, index, names }, opts.epoch);
    } else if (opts.output.kind === 'tarball') {
      await writeImageTarball(opts.output.path, { images, names }, opts.epoch);
    } else {
      for (const { image, platform } of images) await writeOutput(opts.output, image, platform, names, opts.epoch);
    }
    return {
      digest,
      platforms: opts.platforms.map(formatPlatform),
      output: describeLocation(opts.output),
      images: images.map(({ image, platform }) => ({ platform: formatPlatform(platform), digest: image.digest })),
    };
  });
}
