import { hostPlatform } from '../../builder/engines/platform-args.js';
import { UsageError } from '../../errors.js';
import { defaultLoadTarget, describeLoadTarget, loadImage, locationNames, parseLoadTarget } from '../../folders/load-local.js';
import { formatReference, parseReference } from '../../oci/reference.js';
import { parsePlatform } from '../../oci/platform.js';
import { parseLocation, readLocation } from '../../transport/location.js';
import { imagePlatform, selectImage } from '../../transport/select.js';
import { defineCommand } from '../command.js';
import { print, sourceDateEpoch } from '../flags.js';

interface LoadArgs {
  image: string;
  into?: string;
  platform?: string;
  name?: string;
}

export const loadCommand = defineCommand<LoadArgs>({
  command: 'load <image>',
  describe: 'Load an image tarball or oci:DIR[:NAME] into Docker or podman (or a file), one platform, under its name',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'an image tarball, or oci:DIR[:NAME]' })
      .option('into', { type: 'string', describe: 'docker, podman, FILE.tar or oci:DIR (default: Docker if its daemon answers, else podman)' })
      .option('platform', { type: 'string', describe: "os/arch[/variant] to take from a multi-platform image (default: the host's)" })
      .option('name', { type: 'string', describe: "the name to load it under (default: the image's own name)" }) as never,
  async handler(args, io) {
    const source = parseLocation(args.image, io.cwd, 'image');
    const into = args.into !== undefined ? parseLoadTarget(args.into, io.cwd) : undefined;
    const artifact = await readLocation(source);
    const platform = args.platform !== undefined ? parsePlatform(args.platform) : artifact.kind === 'image' ? imagePlatform(artifact) : hostPlatform();
    const image = await selectImage(artifact, platform, args.image);
    const named = args.name ?? source.name ?? (await locationNames(source))[0];
    if (!named) throw new UsageError('BAD_FLAG', `${args.image} names no image; give --name REPO:TAG`);
    const ref = parseReference(named, { what: '--name' });
    const target = into ?? (await defaultLoadTarget());
    const r = await loadImage(image, platform, ref, target, sourceDateEpoch(io.env));
    io.stderr.write(`berth: loaded ${formatReference(ref)} (${image.digest}) into ${describeLoadTarget(target)}\n`);
    print(io, args.json, { ...r, digest: image.digest }, image.digest);
  },
});

