import { writeStaticBase } from '../../builder/base-command.js';
import { UsageError } from '../../errors.js';
import { formatPlatform, parsePlatform } from '../../oci/platform.js';
import { parseReference } from '../../oci/reference.js';
import { parseLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { dockerLoadNote } from '../notes.js';
import { MediaType } from '../../oci/mediatype.js';
import { parseCompressionLevel, parseFormat, print, sourceDateEpoch } from '../flags.js';

interface BaseArgs {
  kind: string;
  platform?: string[];
  output: string;
  tag?: string[];
  format: string;
  'compression-level': number;
}

export const baseCommand = defineCommand<BaseArgs>({
  command: 'base <kind>',
  describe: "Write one of berth's own base images (static: a distroless-static equivalent)",
  builder: (y) =>
    y
      .positional('kind', { type: 'string', choices: ['static'], demandOption: true, describe: 'which base' })
      .option('platform', { type: 'string', array: true, describe: 'os/arch[/variant]; several make an index (default linux/amd64)' })
      .option('output', { type: 'string', demandOption: true, describe: 'image tarball path, or oci:DIR[:NAME]' })
      .option('tag', { type: 'string', array: true, describe: 'registry/repo:tag the base is named' })
      .option('format', { type: 'string', default: 'oci', describe: 'media types: oci or docker' })
      .option('compression-level', { type: 'number', default: 1, describe: 'gzip level, 0-9' }) as never,
  async handler(args, io) {
    const platforms = (args.platform ?? ['linux/amd64']).map((p) => parsePlatform(p));
    // Its files (/etc/passwd, /tmp, ...) make a Linux root file system.
    for (const p of platforms) if (p.os !== 'linux') throw new UsageError('BAD_FLAG', `--platform: "${formatPlatform(p)}": the static base is for linux only`);
    const output = parseLocation(args.output, io.cwd, '--output');
    const result = await writeStaticBase({
      platforms,
      output,
      tags: (args.tag ?? []).map((t) => parseReference(t, { what: '--tag' })),
      format: parseFormat(args.format),
      level: parseCompressionLevel(args['compression-level']),
      epoch: sourceDateEpoch(io.env),
    });
    io.stderr.write(`berth: wrote static base ${result.digest} (${result.platforms.join(', ')}) -> ${result.output}\n`);
    if (platforms.length > 1) dockerLoadNote(io, output, MediaType.ociIndex, result.platforms);
    print(io, args.json, result, result.digest);
  },
});
