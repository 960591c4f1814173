import { parsePlatform } from '../../oci/platform.js';
import { copyImage } from '../../transport/copy-image.js';
import { parseLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { dockerLoadNote } from '../notes.js';
import { print, sourceDateEpoch } from '../flags.js';
import { parseRegistryReference, transferFlags, withTransfer, type TransferArgs } from '../registry-flags.js';

interface PullArgs extends TransferArgs {
  image: string;
  output: string;
  platform?: string;
}

export const pullCommand = defineCommand<PullArgs>({
  command: 'pull <image>',
  describe: 'Pull an image or index from a registry into an image tarball or OCI layout, checking every digest',
  builder: (y) =>
    transferFlags(
      y
        .positional('image', { type: 'string', demandOption: true, describe: 'registry/repo[:tag][@digest]' })
        .option('output', { type: 'string', demandOption: true, describe: 'image tarball path, or oci:DIR[:NAME]' })
        .option('platform', { type: 'string', describe: 'os/arch[/variant]: pull only that image out of an index' }),
    ) as never,
  async handler(args, io) {
    const ref = parseRegistryReference(args.image, 'image');
    const output = parseLocation(args.output, io.cwd, '--output');
    const platform = args.platform === undefined ? undefined : parsePlatform(args.platform);
    const epoch = sourceDateEpoch(io.env);
    const result = await withTransfer(args, io, 'pulling', (registries) =>
      copyImage({ kind: 'registry', ref }, output, { registries, epoch, ...(platform ? { platform } : {}) }),
    );
    io.stderr.write(`berth: pulled ${result.digest} -> ${result.destination}\n`);
    dockerLoadNote(io, output, result.mediaType, []);
    print(io, args.json, result, result.digest);
  },
});
