import { buildImage, type BaseSpec } from '../../builder/build.js';
import { parseFileSpec } from '../../blob/files.js';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { labelsFromStatus, parseStatusFile } from '../../status/labels.js';
import { parsePlatform } from '../../oci/platform.js';
import { parseReference } from '../../oci/reference.js';
import { parseAnyLocation, parseLocation } from '../../transport/location.js';
import { defineCommand } from '../command.js';
import { registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';
import { parseArgv, parseCompressionLevel, parseExpose, parseFormat, parseKeyValues, parseOwner, parseUser, print, sourceDateEpoch } from '../flags.js';

interface BuildArgs extends RegistryArgs {
  base: string;
  platform?: string;
  file?: string[];
  'allow-foreign-binaries': boolean;
  layer?: string[];
  owner: string;
  entrypoint?: string;
  cmd?: string;
  user?: string;
  workdir?: string;
  env?: string[];
  label?: string[];
  'labels-from-status'?: string;
  annotation?: string[];
  expose?: string[];
  tag?: string[];
  output: string;
  format: string;
  'compression-level': number;
}

export function parseBase(text: string, cwd: string): BaseSpec {
  if (text === 'scratch') return { kind: 'scratch' };
  if (text === 'static') return { kind: 'static' };
  return { kind: 'location', location: parseAnyLocation(text, cwd, '--base') };
}

/** The OCI labels a Bazel status file gives, for --labels-from-status; explicit --label wins. */
async function statusLabels(file: string | undefined, cwd: string): Promise<Record<string, string>> {
  if (file === undefined) return {};
  const text = await readFile(resolve(cwd, file), 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `--labels-from-status ${file}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code})`}`);
  });
  return labelsFromStatus(parseStatusFile(text, file));
}

export const buildCommand = defineCommand<BuildArgs>({
  command: 'build',
  describe: 'Build an image for one platform: a base, a layer of files, config changes',
  builder: (y) =>
    registryFlags(y)
      .option('base', { type: 'string', demandOption: true, describe: 'scratch, static, an image tarball, oci:DIR[:NAME], or registry/repo[:tag][@digest]' })
      .option('platform', { type: 'string', describe: 'os/arch[/variant]; picks from a multi-platform base (default: the base image\'s, else linux/amd64)' })
      .option('file', { type: 'string', array: true, describe: 'SRC:DEST[:MODE] file or directory to add, all in one new layer' })
      .option('allow-foreign-binaries', { type: 'boolean', default: false, describe: "add ELF files built for another platform than the image's (refused by default: machine, class, byte order)" })
      .option('layer', { type: 'string', array: true, describe: 'an existing layer tarball (plain or gzip) to append' })
      .option('owner', { type: 'string', default: '0:0', describe: 'UID:GID owning the --file entries' })
      .option('entrypoint', { type: 'string', describe: 'program to run: a path, or a JSON array of strings' })
      .option('cmd', { type: 'string', describe: 'default arguments: a string, or a JSON array of strings' })
      .option('user', { type: 'string', describe: 'user[:group] the container runs as' })
      .option('workdir', { type: 'string', describe: 'working directory' })
      .option('env', { type: 'string', array: true, describe: 'KEY=VALUE environment variable' })
      .option('label', { type: 'string', array: true, describe: 'KEY=VALUE config label' })
      .option('labels-from-status', { type: 'string', describe: 'a Bazel status file (stable-status.txt): add org.opencontainers.image.version, .revision, .created, .source labels' })
      .option('annotation', { type: 'string', array: true, describe: 'KEY=VALUE manifest annotation (OCI format only)' })
      .option('expose', { type: 'string', array: true, describe: 'PORT[/PROTO] to declare' })
      .option('tag', { type: 'string', array: true, describe: 'registry/repo:tag the image is named (RepoTags, ref.name)' })
      .option('output', { type: 'string', demandOption: true, describe: 'image tarball path, or oci:DIR[:NAME] to add to a layout' })
      .option('format', { type: 'string', default: 'oci', describe: 'media types: oci or docker' })
      .option('compression-level', { type: 'number', default: 1, describe: 'gzip level for new layers, 0-9 (1 is fastest)' }),
  async handler(args, io) {
    const platform = args.platform === undefined ? undefined : parsePlatform(args.platform);
    const tags = (args.tag ?? []).map((t) => parseReference(t, { what: '--tag' }));
    const entrypoint = args.entrypoint === undefined ? undefined : parseArgv(args.entrypoint, '--entrypoint');
    const cmd = args.cmd === undefined ? undefined : parseArgv(args.cmd, '--cmd');
    if (args.workdir !== undefined && !args.workdir.startsWith('/')) throw new UsageError('BAD_FLAG', `--workdir: "${args.workdir}" must be an absolute path`);
    const base = parseBase(args.base, io.cwd);
    if (base.kind === 'static' && platform && platform.os !== 'linux') throw new UsageError('BAD_FLAG', `--platform: "${args.platform}": the static base is for linux only`);
    const result = await buildImage({
      base,
      ...(platform ? { platform } : {}),
      files: (args.file ?? []).map((f) => parseFileSpec(f, io.cwd)),
      allowForeignBinaries: args['allow-foreign-binaries'],
      layers: args.layer ?? [],
      owner: parseOwner(args.owner, '--owner'),
      config: {
        env: parseKeyValues(args.env, '--env'),
        labels: { ...(await statusLabels(args['labels-from-status'], io.cwd)), ...parseKeyValues(args.label, '--label') },
        ...(entrypoint ? { entrypoint } : {}),
        ...(cmd ? { cmd } : {}),
        ...(args.user !== undefined ? { user: parseUser(args.user) } : {}),
        ...(args.workdir !== undefined ? { workdir: args.workdir } : {}),
        ...(args.expose ? { exposedPorts: args.expose.map(parseExpose) } : {}),
      },
      annotations: parseKeyValues(args.annotation, '--annotation'),
      tags,
      format: parseFormat(args.format),
      compressionLevel: parseCompressionLevel(args['compression-level']),
      epoch: sourceDateEpoch(io.env),
      output: parseLocation(args.output, io.cwd, '--output'),
      // Only a registry base needs them (and berth.yaml read for insecure hosts): not on every Bazel action.
      ...(base.kind === 'location' && base.location.kind === 'registry' ? { registry: await registryOptions(args, io) } : {}),
    });
    io.stderr.write(`berth: built ${result.platform} image ${result.digest} -> ${result.output}\n`);
    print(io, args.json, result, result.digest);
  },
});
