import { renderSummary } from '../../image/summary.js';
import { inspectArtifact } from '../../transport/inspect.js';
import { parseLocation, readLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';

interface InspectArgs {
  image: string;
}

export const inspectCommand = defineCommand<InspectArgs>({
  command: 'inspect <image>',
  describe: 'Show an image or index, checking every blob against its digest',
  builder: (y) => y.positional('image', { type: 'string', demandOption: true, describe: 'an image tarball, or oci:DIR[:NAME]' }) as never,
  async handler(args, io) {
    const summary = await inspectArtifact(await readLocation(parseLocation(args.image, io.cwd, 'image')));
    print(io, args.json, summary, renderSummary(summary));
  },
});
