import { UsageError } from '../../errors.js';
import { parseReference } from '../../oci/reference.js';
import { writeLocalIndex } from '../../release/index.js';
import { parseLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { dockerLoadNote } from '../notes.js';
import { parseFormat, print, sourceDateEpoch } from '../flags.js';
import { stampValues, statusFileFlag, statusValues, type StatusFileArgs } from '../status-flags.js';

interface IndexArgs extends StatusFileArgs {
  image: string[];
  output: string;
  format: string;
  tag?: string[];
}

export const indexCommand = defineCommand<IndexArgs>({
  command: 'index',
  describe: 'Assemble an index (or Docker manifest list) from local images into an image tarball or OCI layout',
  builder: (y) =>
    statusFileFlag(y, '--tag')
      .option('image', { type: 'string', array: true, demandOption: true, describe: 'an image tarball or oci:DIR[:NAME] (repeat; an index adds each of its images)' })
      .option('output', { type: 'string', demandOption: true, describe: 'image tarball path, or oci:DIR[:NAME]' })
      .option('format', { type: 'string', default: 'oci', describe: 'oci (an index) or docker (a manifest list); per-arch manifests are converted where needed' })
      .option('tag', { type: 'string', array: true, describe: 'registry/repo:tag to name the index by (its ref.name annotation; RepoTags stays empty: an index has no one image to give it)' }) as never,
  async handler(args, io) {
    if (args.image.length === 0) throw new UsageError('BAD_FLAG', '--image: name at least one image');
    const format = parseFormat(args.format);
    const images = args.image.map((i) => parseLocation(i, io.cwd, '--image'));
    const output = parseLocation(args.output, io.cwd, '--output');
    const names = stampValues(args.tag, await statusValues(args, io.cwd), '--tag').map((t) => {
      parseReference(t, { what: '--tag' });
      return t;
    });
    const result = await writeLocalIndex(images, output, { format, names, epoch: sourceDateEpoch(io.env) });
    io.stderr.write(`berth: wrote ${result.mediaType === 'application/vnd.oci.image.index.v1+json' ? 'index' : 'manifest list'} ${result.digest} over ${result.manifests.map((m) => m.platform).join(', ')} -> ${result.destination}\n`);
    dockerLoadNote(io, output, result.mediaType, result.manifests.map((m) => m.platform));
    print(io, args.json, result, result.digest);
  },
});
