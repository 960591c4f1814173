import { parsePlatform } from '../../oci/platform.js';
import { copyImage } from '../../transport/copy.js';
import { parseAnyLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { print, sourceDateEpoch } from '../flags.js';
import { transferFlags, withTransfer, type TransferArgs } from '../registry-flags.js';

interface CopyArgs extends TransferArgs {
  source: string;
  destination: string;
  platform?: string;
}

export const copyCommand = defineCommand<CopyArgs>({
  command: 'copy <source> <destination>',
  describe: 'Copy an image or index between image tarballs, OCI layouts and registries',
  builder: (y) =>
    transferFlags(
      y
        .positional('source', { type: 'string', demandOption: true, describe: 'image tarball, oci:DIR[:NAME], or registry/repo[:tag][@digest] (docker://REF always means a registry)' })
        .positional('destination', { type: 'string', demandOption: true, describe: 'as for the source' })
        .option('platform', { type: 'string', describe: 'os/arch[/variant]: copy only that image out of an index' }),
    ) as never,
  async handler(args, io) {
    const source = parseAnyLocation(args.source, io.cwd, 'source');
    const destination = parseAnyLocation(args.destination, io.cwd, 'destination');
    const platform = args.platform === undefined ? undefined : parsePlatform(args.platform);
    const epoch = sourceDateEpoch(io.env);
    const result = await withTransfer(args, io, 'copying', (registries) => copyImage(source, destination, { registries, epoch, ...(platform ? { platform } : {}) }));
    io.stderr.write(`berth: copied ${result.digest} -> ${result.destination}\n`);
    print(io, args.json, result, result.digest);
  },
});
