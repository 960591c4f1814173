import { join, resolve } from 'node:path';
import { CONFIG_FILE, loadConfig } from '../../config/index.js';
import { archSuffix, localImageName } from '../../config/images.js';
import { UsageError } from '../../errors.js';
import { jobType as jobTypeOf } from '../../folders/job-type.js';
import { describeLoadTarget, defaultLoadTarget, parseLoadTarget } from '../../folders/load-local.js';
import { checkOutcomeFiles, outcomeLines, writeOutcomeFiles, type ImageOutcome } from '../../folders/folder-report.js';
import { buildFolder, listImages, loadFolderImages, pushFolder, type BuildSettings } from '../../folders/run.js';
import { readArgFile } from '../../config/arg-file.js';
import { commitSha, folderOptions, pullMapper } from '../../folders/folder-options.js';
import { chooseTargets, renderImageTags, type Targets } from '../../folders/targets.js';
import { contentHashTag } from '../../folders/content-hash.js';
import { parsePlatform, type Platform } from '../../oci/platform.js';
import { withRegistries } from '../../registry/pool.js';
import { collectTagContext } from '../../tags/context.js';
import type { EngineChoice } from '../../builder/engines/engine.js';
import { defineCommand } from '../command.js';
import { parseCompressionLevel, parseFormat, parseKeyValues, sourceDateEpoch } from '../flags.js';
import type { CliIO } from '../io.js';
import { registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';
import { chooseSigners, PROVENANCE_OPTION } from '../sign-flags.js';
import { imageFacts } from '../../folders/folder-provenance.js';
import { gitFacts } from '../../sign/provenance-facts.js';
import { requireKeySigner } from '../../sign/index.js';
import { berthVersion } from '../berth-version.js';
import { stepFlags, stepOptions, type StepArgs } from '../step-flags.js';

const ACTIONS = ['list', 'build', 'push', 'load'] as const;
const ENGINES = ['auto', 'native', 'buildah', 'docker'] as const;

interface ImagesArgs extends RegistryArgs, StepArgs {
  action: (typeof ACTIONS)[number];
  names?: string[];
  all: boolean;
  dir?: string;
  platform?: string[];
  variant?: string;
  'build-arg'?: string[];
  'build-arg-file'?: string;
  'arch-suffixed-repos': boolean;
  engine: (typeof ENGINES)[number];
  registry?: string[];
  tag?: string[];
  'job-type'?: string;
  restricted: boolean;
  'dry-run': boolean;
  provenance?: boolean;
  report?: string;
  output?: string;
  into?: string;
  jobs: number;
  sign: boolean;
  format: string;
  'compression-level': number;
  'log-format': 'text' | 'json';
}

/** Lines for people, or one JSON object per line (`--log-format json`), on stderr. */
function logger(io: CliIO, format: 'text' | 'json'): (image: string, line: string) => void {
  if (format === 'json') return (image, message) => io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', ...(image ? { image } : {}), message })}\n`);
  return (image, line) => io.stderr.write(image ? `[${image}] ${line}\n` : `berth: ${line}\n`);
}

/** berth's own lines (`berth: ...`), through the logger so --log-format json covers them. */
const sayer = (log: (image: string, line: string) => void) => (text: string) => {
  for (const line of text.split('\n').filter(Boolean)) log('', line.replace(/^berth: /, ''));
};

export const imagesCommand = defineCommand<ImagesArgs>({
  command: 'images <action> [names..]',
  describe: 'Image folders (images/<name>/Dockerfile...): list, build, push what the registry lacks, load locally',
  builder: (y) =>
    registryFlags(
      stepFlags(y)
        .positional('action', { choices: ACTIONS, demandOption: true, describe: 'list: hashes, tags, platforms; build: image tarballs; push: what the registry lacks; load: into docker, podman or a file' })
        .positional('names', { type: 'string', array: true, describe: 'image names (folder paths such as basic/busybox, or basic_busybox); none with --all' })
        .option('all', { type: 'boolean', default: false, describe: 'every image of the folder' })
        .option('dir', { type: 'string', describe: 'the image folder (default: images.dir in berth.yaml, else images)' })
        .option('platform', { type: 'string', array: true, describe: "os/arch[/variant] to build, repeatable (default: each image's Dockerfile.<arch>/ImageSource.<arch> platforms, else the host's)" })
        .option('variant', { type: 'string', describe: 'build only this variant of variants.yaml' })
        .option('build-arg', { type: 'string', array: true, describe: 'KEY=VALUE for every image (part of the content hash)' })
        .option('build-arg-file', { type: 'string', describe: "KEY=VALUE lines for every image (kyma's envs file); --build-arg wins" })
        .option('arch-suffixed-repos', { type: 'boolean', default: false, describe: "push: also each platform's image as its own repository NAME-ARCH (as release --arch-suffixed-repos; images.arch-suffix in berth.yaml names them gVisor's way)" })
        .option('engine', { choices: ENGINES, default: 'auto' as const, describe: 'what builds Dockerfiles: native without RUN, else buildah or Docker' })
        .option('registry', { type: 'string', array: true, describe: 'host[/path] images go to (default: by job type, or images.registry in berth.yaml)' })
        .option('tag', { type: 'string', array: true, describe: 'push: tags besides the content-hash tag; templates as berth tags has them, plus {{ .ContentHash }}' })
        .option('job-type', { type: 'string', describe: 'presubmit or postsubmit (default: from Prow or GitHub Actions)' })
        .option('restricted', { type: 'boolean', default: false, describe: 'push to images.registries.restricted' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'push: say what would be built and pushed; touch nothing' })
        .option('provenance', { ...PROVENANCE_OPTION, describe: `push: ${PROVENANCE_OPTION.describe} (images.provenance)` })
        .option('report', { type: 'string', describe: "push: write kyma's build report (JSON) to FILE" })
        .option('output', { type: 'string', describe: 'build: the folder for the image tarballs (default dist/images)' })
        .option('into', { type: 'string', describe: 'load: docker, podman, FILE.tar or oci:DIR (default: Docker if its daemon answers, else podman)' })
        .option('jobs', { type: 'number', default: 2, describe: 'builds at once, across images and platforms' })
        .option('sign', { type: 'boolean', default: true, describe: "push: sign with berth.yaml's signers where they apply (never a pull request); --no-sign skips" })
        .option('format', { type: 'string', default: 'oci', describe: 'oci or docker media types' })
        .option('compression-level', { type: 'number', default: 1, describe: 'gzip level for new layers (0-9)' })
        .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'stderr as lines for people or one JSON object per line' }),
    ) as never,
  async handler(args, io) {
    const names = args.names ?? [];
    if (args.all && names.length) throw new UsageError('BAD_FLAG', 'name images or give --all, not both');
    if (args.action !== 'list' && !args.all && names.length === 0) throw new UsageError('BAD_FLAG', `images ${args.action}: name the images, or give --all`);

    if (!Number.isInteger(args.jobs) || args.jobs < 1 || args.jobs > 64) throw new UsageError('BAD_FLAG', `--jobs: ${args.jobs} is not a whole number from 1 to 64`);
    const config = (await loadConfig(join(io.cwd, CONFIG_FILE), { display: CONFIG_FILE })).images ?? {};
    // --jobs here is images built at once, not the registry's blobs in flight (its default stays).
    const { jobs: _imagesAtOnce, ...registryArgs } = args;
    const registryOpts = await registryOptions({ ...registryArgs, json: false }, io);
    const commit = await commitSha(io.cwd, io.env);
    const fileArgs = args['build-arg-file'] !== undefined ? await readArgFile(resolve(io.cwd, args['build-arg-file']), `--build-arg-file ${args['build-arg-file']}`) : {};
    const folder = folderOptions(config, {
      cwd: io.cwd,
      ...(args.dir !== undefined ? { dir: args.dir } : {}),
      names,
      platforms: (args.platform ?? []).map((p) => parsePlatform(p)),
      ...(config.platforms ? { defaultPlatforms: config.platforms.map((p) => parsePlatform(p)) } : {}),
      ...(args.variant !== undefined ? { variant: args.variant } : {}),
      buildArgs: { ...fileArgs, ...parseKeyValues(args['build-arg'], '--build-arg') },
      cacheDir: registryOpts.cacheDir!,
      ...(commit !== undefined ? { commitSha: commit } : {}),
    });
    const log = logger(io, args['log-format']);
    const say = sayer(log);
    if (registryOpts.log && args['log-format'] === 'json') registryOpts.log = (line) => log('', `debug: ${line}`);
    const settings: BuildSettings = {
      engine: args.engine as EngineChoice,
      format: parseFormat(args.format),
      compressionLevel: parseCompressionLevel(args['compression-level']),
      epoch: sourceDateEpoch(io.env),
      registry: registryOpts,
      jobs: args.jobs,
      log,
      steps: stepOptions(args, io, registryOpts.cacheDir, config['cache-repo']),
    };
    const jobType = jobTypeOf(io.env, args['job-type']);
    const chosen = () => chooseTargets({ config, flags: args.registry ?? [], ...(jobType ? { jobType } : {}), restricted: args.restricted });
    // A registry is optional for list (present per platform) and load (pull before building):
    // where none applies here (job-type registries outside CI), they go without.
    const targets = args.action === 'push' || args.restricted ? chosen() : optionalTargets(chosen);
    const localName = (name: string) => localImageName(config['local-name'], name);

    await withRegistries(registryOpts, async (registries) => {
      switch (args.action) {
        case 'list': {
          const { images: listed, skipped } = await listImages({ ...folder, targets: targets.registries }, registries, targets.registries[0]);
          for (const sk of skipped) say(`skipped ${sk.path}: ${sk.why}`);
          for (const i of listed) for (const n of i.notes ?? []) say(`${i.name}: ${n}`);
          if (args.json) io.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
          else for (const i of listed) io.stdout.write(`${i.name}${i.variant ? `-${i.variant}` : ''}\t${i.tag}\t${i.platforms.map((p) => (i.present ? `${p}${i.present[p] ? '' : ' (missing)'}` : p)).join(', ') || '(none)'}\n`);
          return;
        }
        case 'build': {
          const out = await buildFolder({ ...folder, targets: targets.registries }, settings, resolve(io.cwd, args.output ?? 'dist/images'), localName, registries, targets.registries[0]);
          for (const b of out) say(`built ${b.name} ${b.digest} (${b.platforms.map((p) => (b.origins[p] && b.origins[p] !== 'built' ? `${p}: ${ORIGIN_TEXT[b.origins[p]]}` : p)).join(', ')}) -> ${b.output}`);
          if (args.json) io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        case 'load': {
          const target = args.into !== undefined ? parseLoadTarget(args.into, io.cwd) : await defaultLoadTarget();
          const rs = await loadFolderImages({ ...folder, targets: targets.registries }, settings, targets.registries[0], registries, target, localName);
          for (const r of rs) say(`loaded ${r.loadedAs} (${r.digest}, ${r.from === 'registry' ? 'pulled by its content hash' : r.from === 'cache' ? 'built here before' : 'built here'}) into ${describeLoadTarget(target)}`);
          if (args.json) io.stdout.write(`${JSON.stringify(names.length === 1 && rs.length === 1 ? rs[0] : rs, null, 2)}\n`);
          return;
        }
        case 'push': {
          // git is asked only when a tag needs it (a no-op push is mostly start-up).
          const ctx = args.tag?.length || targets.defaultTag || folder.builds?.some((b) => b.tags?.length) ? await collectTagContext({ cwd: io.cwd, env: io.env }) : undefined;
          const provenance = (args.provenance ?? config.provenance ?? false) && !args['dry-run'] && jobType !== 'presubmit';
          // Chosen for a dry run too: it lists the signatures a real run would write.
          const signing = (args.sign || provenance) && jobType !== 'presubmit' ? await chooseSigners({}, io) : { signers: [] };
          if (provenance) requireKeySigner(signing.signers, 'add a cosign-key signer to berth.yaml', 'none' in signing ? signing.none : undefined);
          const git = provenance ? await gitFacts(io.cwd, io.env) : undefined;
          const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
          const pull = pullMapper(config.registries?.pull);
          if (!args['dry-run']) await checkOutcomeFiles({ ...(args.report !== undefined ? { report: args.report } : {}), cwd: io.cwd, env: io.env });
          let outcomes: ImageOutcome[] = [];
          try {
            outcomes = await pushFolder(
              folder,
              {
                ...settings,
                targets: targets.registries,
                // {{ .ContentHash }} is the hash tag without the variant: imageTags suffixes every tag with it.
                tags: (image) => (ctx ? renderImageTags([...(args.tag ?? []), ...(image.folder.tags ?? [])], ctx, io.env, contentHashTag(image.hash), targets.defaultTag, jobType) : []),
                ...(pull ? { pull } : {}),
                ...(config['arch-suffix'] !== undefined ? { archSuffix: (name: string, p: Platform) => `${name}${archSuffix(config['arch-suffix']!, p.architecture, p.variant)}` } : args['arch-suffixed-repos'] ? { archSuffix: true } : {}),
                dryRun: args['dry-run'],
                ...(signing.signers.length && args.sign ? { sign: { signers: signing.signers, recursive: false } } : {}),
                ...(provenance ? { attest: { signers: signing.signers, recursive: false, builder: { version: berthVersion(), ...(io.env.BERTH_BUILDER_ID ? { id: io.env.BERTH_BUILDER_ID } : {}) }, facts: (image) => imageFacts(image, { cwd: io.cwd, ...(git ? { git } : {}), startedOn: started }) } } : {}),
                onOutcome: (o) => say(outcomeLines([o])),
              },
              registries,
            );
          } catch (err) {
            outcomes = (err as { outcomes?: ImageOutcome[] }).outcomes ?? [];
            await writeOutputs(args, io, outcomes);
            throw err;
          }
          await writeOutputs(args, io, outcomes);
          if (args.json) io.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
          return;
        }
      }
    });
  },
});

const ORIGIN_TEXT = { built: 'built here', cache: 'built here before', registry: 'pulled by its content hash', taken: 'its ImageSource' } as const;

function optionalTargets(chosen: () => Targets): Targets {
  try {
    return chosen();
  } catch (err) {
    if (err instanceof UsageError) return { registries: [], reason: 'none', defaultTag: false };
    throw err;
  }
}

async function writeOutputs(args: ImagesArgs, io: CliIO, outcomes: ImageOutcome[]): Promise<void> {
  if (!args['dry-run']) await writeOutcomeFiles(outcomes, { ...(args.report !== undefined ? { report: args.report } : {}), cwd: io.cwd, env: io.env });
}
