import { renderSummary } from '../../image/summary.js';
import { withRegistries } from '../../registry/pool.js';
import { inspectArtifact } from '../../transport/inspect.js';
import { parseAnyLocation, readAnyLocation, readLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';
import { registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';

interface InspectArgs extends RegistryArgs {
  image: string;
}

export const inspectCommand = defineCommand<InspectArgs>({
  command: 'inspect <image>',
  describe: 'Show an image or index, checking every blob against its digest',
  builder: (y) => registryFlags(y.positional('image', { type: 'string', demandOption: true, describe: 'an image tarball, oci:DIR[:NAME], or registry/repo[:tag][@digest]' })) as never,
  async handler(args, io) {
    const loc = parseAnyLocation(args.image, io.cwd, 'image');
    if (loc.kind !== 'registry') {
      const summary = await inspectArtifact(await readLocation(loc));
      print(io, args.json, summary, renderSummary(summary));
      return;
    }
    // A registry image also shows the digest the registry serves it under, to pin it by.
    const { summary, reference } = await withRegistries(await registryOptions(args, io), async (registries) => {
      const artifact = await readAnyLocation(loc, registries);
      return { summary: await inspectArtifact(artifact), reference: `${loc.ref.registry}/${loc.ref.repository}@${artifact.digest}` };
    });
    print(io, args.json, { reference, ...summary }, `reference  ${reference}\n${renderSummary(summary)}`);
  },
});
