import { copyImage } from '../../transport/copy-image.js';
import { parseLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';
import { parseRegistryReference, transferFlags, withTransfer, type TransferArgs } from '../registry-flags.js';

interface PushArgs extends TransferArgs {
  source: string;
  target: string;
}

export const pushCommand = defineCommand<PushArgs>({
  command: 'push <source> <target>',
  describe: 'Push an image or index (image tarball or oci:DIR[:NAME]) to a registry; prints its digest',
  builder: (y) =>
    transferFlags(
      y
        .positional('source', { type: 'string', demandOption: true, describe: 'an image tarball, or oci:DIR[:NAME]' })
        .positional('target', { type: 'string', demandOption: true, describe: 'registry/repo[:tag] (a missing tag is latest; @digest pushes by digest)' }),
    ) as never,
  async handler(args, io) {
    const source = parseLocation(args.source, io.cwd, 'source');
    const ref = parseRegistryReference(args.target, 'target');
    const result = await withTransfer(args, io, 'pushing', (registries) => copyImage(source, { kind: 'registry', ref }, { registries }));
    const push = result.push!;
    const how = push.upToDate ? 'already there' : `${push.blobs.uploaded} uploaded, ${push.blobs.mounted} mounted, ${push.blobs.existing} existing`;
    io.stderr.write(`berth: pushed ${result.digest} -> ${result.destination} (${how})\n`);
    print(io, args.json, result, result.digest);
  },
});
