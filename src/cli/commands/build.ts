import { buildImage, type BaseSpec } from '../../builder/build-image.js';
import { buildDockerfile, parseContextSource } from '../../builder/dockerfile-build.js';
import { ENGINE_CHOICES, parseEngineChoice } from '../../builder/engines/choose.js';
import { gitIn } from '../../status/git.js';
import { parseFileSpec } from '../../blob/files.js';
import { readArgFile } from '../../config/arg-file.js';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { labelsFromStatus, parseStatusFile } from '../../status/labels.js';
import { parsePlatform } from '../../oci/platform.js';
import { parseReference } from '../../oci/reference.js';
import { outputPath, parseAnyLocation, parseLocation, type Location } from '../../transport/location.js';
import { isStdout } from '../../util/atomic.js';
import { gitFacts, writeFactsBeside } from '../../sign/provenance-facts.js';
import type { BuildFacts } from '../../sign/provenance-statement.js';
import { defineCommand, type GlobalArgs } from '../command.js';
import type { CliIO } from '../io.js';
import { registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';
import { stepFlags, stepOptions, type StepArgs } from '../step-flags.js';
import { busy } from '../screen.js';
import { parseArgv, parseCompressionLevel, parseExpose, parseFormat, parseKeyValues, parseOwner, parseUser, print, sourceDateEpoch } from '../flags.js';

interface BuildArgs extends RegistryArgs, StepArgs {
  provenance?: boolean;
  base?: string;
  platform?: string[];
  dockerfile?: string;
  context?: string;
  target?: string;
  'build-arg'?: string[];
  'build-arg-file'?: string;
  'build-context'?: string[];
  engine: string;
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
  describe: 'Build an image: a base, a layer of files, config changes; or a Dockerfile (--dockerfile), per platform',
  builder: (y) =>
    stepFlags(registryFlags(y))
      .option('base', { type: 'string', describe: 'scratch, static, an image tarball, oci:DIR[:NAME], or registry/repo[:tag][@digest] (required without --dockerfile)' })
      .option('platform', { type: 'string', array: true, describe: 'os/arch[/variant]; picks from a multi-platform base (default: the base image\'s, else linux/amd64). With --dockerfile, several make one image each and an index' })
      .option('dockerfile', { type: 'string', describe: 'build this Dockerfile (natively without RUN, else through buildah or Docker)' })
      .option('context', { type: 'string', describe: 'build context folder for --dockerfile (default: the Dockerfile\'s folder)' })
      .option('target', { type: 'string', describe: 'the Dockerfile stage to build (default: the last)' })
      .option('build-arg', { type: 'string', array: true, describe: 'KEY=VALUE for the Dockerfile\'s ARGs' })
      .option('build-arg-file', { type: 'string', describe: 'a file of KEY=VALUE lines (# comments), read before --build-arg' })
      .option('build-context', { type: 'string', array: true, describe: 'NAME=SOURCE for FROM NAME / COPY --from=NAME: a folder, an image tarball, oci:DIR[:NAME], docker-image://REF, oci-layout://DIR[:TAG], berth:static' })
      .option('engine', { type: 'string', default: 'auto', choices: ENGINE_CHOICES as string[], describe: 'what builds the Dockerfile: native (no RUN), buildah or docker; auto picks native when no needed stage has RUN' })
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
      .option('provenance', { type: 'boolean', default: false, describe: 'write what went in (Dockerfile, target, platforms, build arguments but secrets, bases by digest, engine, git commit, times) to OUTPUT.provenance.json; berth release --provenance signs it into SLSA provenance' })
      .option('format', { type: 'string', default: 'oci', describe: 'media types: oci or docker' })
      .option('compression-level', { type: 'number', default: 1, describe: 'gzip level for new layers, 0-9 (1 is fastest)' }),
  async handler(args, io) {
    if (args.dockerfile !== undefined) return dockerfileHandler(args, io);
    if (args.base === undefined) throw new UsageError('BAD_FLAG', 'build needs --base (or --dockerfile)');
    for (const flag of DOCKERFILE_ONLY_FLAGS) if (args[flag] !== undefined) throw new UsageError('BAD_FLAG', `--${flag} goes with --dockerfile (it is for RUN steps)`);
    if ((args.platform ?? []).length > 1) throw new UsageError('BAD_FLAG', '--platform: give one platform (several are for --dockerfile; berth base static and berth index make indexes)');
    const platform = args.platform?.[0] === undefined ? undefined : parsePlatform(args.platform[0]);
    const tags = (args.tag ?? []).map((t) => parseReference(t, { what: '--tag' }));
    const { output, toStdout } = outputFlag(args, io);
    const entrypoint = args.entrypoint === undefined ? undefined : parseArgv(args.entrypoint, '--entrypoint');
    const cmd = args.cmd === undefined ? undefined : parseArgv(args.cmd, '--cmd');
    if (args.workdir !== undefined && !args.workdir.startsWith('/')) throw new UsageError('BAD_FLAG', `--workdir: "${args.workdir}" must be an absolute path`);
    const base = parseBase(args.base, io.cwd);
    const started = new Date();
    if (base.kind === 'static' && platform && platform.os !== 'linux') throw new UsageError('BAD_FLAG', `--platform: "${args.platform}": the static base is for linux only`);
    const result = await busy(io, `building ${args.output}`, async () => buildImage({
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
      output,
      // Only a registry base needs them (and berth.yaml read for insecure hosts): not on every Bazel action.
      ...(base.kind === 'location' && base.location.kind === 'registry' ? { registry: await registryOptions(args, io) } : {}),
    }));
    if (args.provenance) await provenanceFacts(io, args.output, { platforms: [result.platform] }, started, io.cwd);
    io.stderr.write(`berth: built ${result.platform} image ${result.digest} -> ${result.output}\n`);
    if (!toStdout) print(io, args.json, result, result.digest);
  },
});

/** --output, parsed; `-o -` (or /dev/stdout) streams the tarball to stdout, so the digest is not printed there. */
function outputFlag(args: BuildArgs & GlobalArgs, io: CliIO): { output: Location; toStdout: boolean } {
  const output = parseLocation(args.output, io.cwd, '--output');
  const toStdout = output.kind === 'tarball' && isStdout(output.path);
  if (toStdout && args.json) throw new UsageError('BAD_FLAG', `--json and --output ${args.output}: both would write to stdout; give a file path`);
  return { output, toStdout };
}

const FILE_ONLY_FLAGS = ['base', 'file', 'layer', 'entrypoint', 'cmd', 'user', 'workdir', 'env', 'expose', 'annotation'] as const;
const DOCKERFILE_ONLY_FLAGS = ['secret', 'cache-to', 'cache-from'] as const;

async function dockerfileHandler(args: BuildArgs & GlobalArgs, io: CliIO): Promise<void> {
  for (const flag of FILE_ONLY_FLAGS) if (args[flag] !== undefined) throw new UsageError('BAD_FLAG', `--${flag} does not go with --dockerfile; write it in the Dockerfile`);
  const { output, toStdout } = outputFlag(args, io);
  const fileArgs = args['build-arg-file'] === undefined ? {} : await readArgFile(resolve(io.cwd, args['build-arg-file']), `--build-arg-file ${args['build-arg-file']}`);
  const contexts = Object.fromEntries(Object.entries(parseKeyValues(args['build-context'], '--build-context')).map(([name, source]) => [name, parseContextSource(source, io.cwd, `--build-context ${name}`)]));
  const dockerfile = resolve(io.cwd, args.dockerfile!);
  const started = new Date();
  // Asked only when the build can read BUILD_COMMIT_SHA: starting git costs every other build time.
  const commitShaLookup = () => gitIn(resolve(dockerfile, '..'), io.env)(['rev-parse', 'HEAD']).then((r) => (r.code === 0 ? r.stdout.trim() || undefined : undefined), () => undefined);
  const registry = await registryOptions(args, io);
  const result = await busy(io, `building ${args.dockerfile}`, async () => buildDockerfile({
    steps: stepOptions(args, io, registry.cacheDir),
    dockerfile,
    dockerfileName: args.dockerfile!,
    ...(args.context !== undefined ? { context: resolve(io.cwd, args.context) } : {}),
    platforms: (args.platform ?? []).map((p) => parsePlatform(p)),
    ...(args.target !== undefined ? { target: args.target } : {}),
    buildArgs: { ...fileArgs, ...parseKeyValues(args['build-arg'], '--build-arg') },
    contexts,
    engine: parseEngineChoice(args.engine),
    commitShaLookup,
    labels: { ...(await statusLabels(args['labels-from-status'], io.cwd)), ...parseKeyValues(args.label, '--label') },
    tags: (args.tag ?? []).map((t) => parseReference(t, { what: '--tag' })),
    format: parseFormat(args.format),
    compressionLevel: parseCompressionLevel(args['compression-level']),
    epoch: sourceDateEpoch(io.env),
    output,
    registry,
    log: (line) => io.stderr.write(`berth: ${line}\n`),
  }));
  if (args.provenance) {
    const buildArgs = { ...fileArgs, ...parseKeyValues(args['build-arg'], '--build-arg') };
    await provenanceFacts(io, args.output, { dockerfile: args.dockerfile!, ...(args.target !== undefined ? { target: args.target } : {}), platforms: result.images.map((i) => i.platform), buildArgs, engine: result.engine, bases: result.bases ?? [] }, started, resolve(dockerfile, '..'));
  }
  io.stderr.write(`berth: built ${result.images.map((i) => i.platform).join(', ')} from ${args.dockerfile} (${result.engine}) ${result.digest} -> ${result.output}\n`);
  if (!toStdout) print(io, args.json, result, result.digest);
}

/** `--provenance`: the build's facts, its git checkout and times added, beside the output. */
async function provenanceFacts(io: CliIO, output: string, facts: BuildFacts, started: Date, gitDir: string): Promise<void> {
  const git = await gitFacts(gitDir, io.env);
  const file = await writeFactsBeside(outputPath(parseLocation(output, io.cwd, '--output')), { ...facts, ...(git ? { git } : {}), startedOn: isoSeconds(started), finishedOn: isoSeconds(new Date()) });
  io.stderr.write(`berth: build facts for provenance -> ${file}\n`);
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
