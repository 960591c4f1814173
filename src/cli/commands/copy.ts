import { UsageError } from '../../errors.js';
import { parsePlatform } from '../../oci/platform.js';
import type { Credential } from '../../registry/credentials.js';
import { formatReference, parseReference } from '../../oci/reference.js';
import { copyImage } from '../../transport/copy-image.js';
import { parseAnyLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { dockerLoadNote } from '../notes.js';
import { print, sourceDateEpoch } from '../flags.js';
import { parseCreds, transferFlags, withTransfer, type TransferArgs } from '../registry-flags.js';
import { stampValues, statusFileFlag, statusValues, type StatusFileArgs } from '../status-flags.js';

interface CopyArgs extends TransferArgs, StatusFileArgs {
  source: string;
  destination: string;
  platform?: string;
  tag?: string[];
  'src-creds'?: string;
  'dest-creds'?: string;
}

export const copyCommand = defineCommand<CopyArgs>({
  command: 'copy <source> <destination>',
  describe: 'Copy an image or index between image tarballs, OCI layouts and registries',
  builder: (y) =>
    statusFileFlag(
      transferFlags(
        y
          .positional('source', { type: 'string', demandOption: true, describe: 'image tarball, oci:DIR[:NAME], or registry/repo[:tag][@digest] (docker://REF always means a registry)' })
          .positional('destination', { type: 'string', demandOption: true, describe: 'as for the source' })
          .option('platform', { type: 'string', describe: 'os/arch[/variant]: copy only that image out of an index' })
          .option('tag', { type: 'string', array: true, describe: 'registry/repo:tag to name a local copy by (RepoTags, ref.name), in place of the source\'s names' })
          .option('src-creds', { type: 'string', describe: "USER[:PASSWORD] for the source's registry (as skopeo's); better USER alone, the password in $BERTH_SRC_CREDS_PASSWORD or on stdin (ps shows a command line to every user)" })
          .option('dest-creds', { type: 'string', describe: "USER[:PASSWORD] for the destination's registry (as skopeo's); better USER alone, the password in $BERTH_DEST_CREDS_PASSWORD or on stdin (ps shows a command line to every user)" }),
      ),
      '--tag',
    ) as never,
  async handler(args, io) {
    const source = parseAnyLocation(args.source, io.cwd, 'source');
    const destination = parseAnyLocation(args.destination, io.cwd, 'destination');
    const platform = args.platform === undefined ? undefined : parsePlatform(args.platform);
    const epoch = sourceDateEpoch(io.env);
    const status = await statusValues(args, io.cwd);
    const names = stampValues(args.tag, status, '--tag').map((t) => formatReference(parseReference(t, { what: '--tag' })));
    const credsByHost = new Map<string, Credential>();
    for (const [flag, loc] of [['--src-creds', source], ['--dest-creds', destination]] as const) {
      const text = args[flag === '--src-creds' ? 'src-creds' : 'dest-creds'];
      if (text === undefined) continue;
      if (loc.kind !== 'registry') throw new UsageError('BAD_FLAG', `${flag}: the ${flag === '--src-creds' ? 'source' : 'destination'} is not in a registry`);
      if (credsByHost.has(loc.ref.registry)) throw new UsageError('BAD_FLAG', `--src-creds and --dest-creds: both name ${loc.ref.registry}; give one`);
      credsByHost.set(loc.ref.registry, await parseCreds(text, flag, io));
    }
    const result = await withTransfer(
      args,
      io,
      'copying',
      (registries) => copyImage(source, destination, { registries, epoch, ...(platform ? { platform } : {}), ...(args.tag !== undefined ? { names } : {}) }),
      credsByHost,
    );
    io.stderr.write(`berth: copied ${result.digest} -> ${result.destination}\n`);
    dockerLoadNote(io, destination, result.mediaType, []);
    print(io, args.json, result, result.digest);
  },
});
