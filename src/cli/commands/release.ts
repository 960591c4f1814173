import { UsageError } from '../../errors.js';
import { type Format } from '../../oci/mediatype.js';
import {
  componentLines,
  componentsFromFlags,
  EMPTY_SPEC,
  executePlan,
  loadReleaseConfig,
  markExisting,
  planFromSpec,
  planToJson,
  planToText,
  ReleaseIncomplete,
  summaryTable,
  writeGithubFiles,
  checkGithubFiles,
  withOverrides,
  type ReleaseSpec,
} from '../../release/index.js';
import { parseLocation } from '../../transport/location.js';
import { join } from 'node:path';
import { CONFIG_FILE, loadConfig } from '../../config/read-config.js';
import { releaseFacts } from '../../release/release-provenance.js';
import { gitFacts } from '../../sign/provenance-facts.js';
import { berthVersion } from '../berth-version.js';
import { defineCommand } from '../command.js';
import { parseFormat, sourceDateEpoch } from '../flags.js';
import { transferFlags, withTransfer, type TransferArgs } from '../registry-flags.js';
import { releaseSignFlags, releaseSigning, type ReleaseSignArgs } from '../sign-flags.js';
import { stampValues, statusFileFlag, statusValues, type StatusFileArgs } from '../status-flags.js';

interface ReleaseArgs extends TransferArgs, StatusFileArgs, ReleaseSignArgs {
  config?: string;
  component?: string[];
  registry?: string[];
  tag?: string[];
  format?: string;
  output?: string;
  to?: string;
  'skip-empty-tags': boolean;
  'arch-suffixed-repos'?: boolean;
  'dry-run': boolean;
  'if-missing': boolean;
}

export const releaseCommand = defineCommand<ReleaseArgs>({
  command: 'release',
  describe: 'Publish one multi-arch image per component (index or manifest list) under every tag to every registry',
  builder: (y) =>
    transferFlags(
      releaseSignFlags(statusFileFlag(y, '--registry and --tag'))
        .option('config', { type: 'string', describe: 'release.yaml: registries, tags, components and their per-platform sources' })
        .option('component', { type: 'string', array: true, describe: 'NAME=GLOB: a component from the image tarballs GLOB matches (each platform read from its config)' })
        .option('registry', { type: 'string', array: true, describe: 'host[/path] every component goes to (replaces release.yaml\'s)' })
        .option('tag', { type: 'string', array: true, describe: 'a tag or template such as {{ .Version }} (replaces release.yaml\'s)' })
        .option('format', { type: 'string', describe: 'oci (indexes) or docker (manifest lists); converts per-arch manifests where needed (default oci)' })
        .option('output', { type: 'string', describe: 'oci:DIR: publish into a local OCI layout instead (the default, ./berth-release, when no registry is named)' })
        .option('to', { type: 'string', hidden: true, describe: 'the old name of --output' })
        .option('skip-empty-tags', { type: 'boolean', default: false, describe: 'leave out a tag template with no value here instead of failing' })
        .option('arch-suffixed-repos', { type: 'boolean', describe: 'also push each image as NAME-ARCH:TAG' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and touch nothing' })
        .option('if-missing', { type: 'boolean', default: false, describe: 'skip a component whose tag already points at the same index' }),
    )
      // What to release and where first; signing and transfer tuning after.
      .group(['config', 'component', 'registry', 'tag', 'output', 'format', 'dry-run', 'if-missing', 'skip-empty-tags', 'arch-suffixed-repos', 'status-file'], 'Options:')
      .group(['sign', 'recursive', 'key', 'repo'], 'Signing:') as never,
  async handler(args, io) {
    if (args.config === undefined && (args.component ?? []).length === 0) throw new UsageError('BAD_FLAG', 'name what to release: --config release.yaml or --component NAME=GLOB');
    if (args.output !== undefined && args.to !== undefined) throw new UsageError('BAD_FLAG', '--output and --to: --to is the old name of --output; give one');
    const output = args.output ?? args.to;
    const outputFlag = args.output !== undefined ? '--output' : '--to';
    if (output !== undefined && (args.registry ?? []).length > 0) throw new UsageError('BAD_FLAG', `${outputFlag} and --registry: publish to registries or to a layout, not both`);
    let layoutDir: string | undefined;
    if (output !== undefined) {
      const loc = parseLocation(output, io.cwd, outputFlag);
      if (loc.kind !== 'layout' || loc.name !== undefined) throw new UsageError('BAD_FLAG', `${outputFlag}: "${output}" is not oci:DIR (a release names its images component:tag in the layout)`);
      layoutDir = loc.dir;
    }
    const format: Format | undefined = args.format === undefined ? undefined : parseFormat(args.format);
    const base: ReleaseSpec = args.config !== undefined ? await loadReleaseConfig(args.config, io.cwd) : EMPTY_SPEC;
    const status = await statusValues(args, io.cwd);
    const spec = withOverrides(base, {
      registries: stampValues(args.registry, status, '--registry'),
      tags: stampValues(args.tag, status, '--tag'),
      ...(args['arch-suffixed-repos'] !== undefined ? { archSuffixedRepos: args['arch-suffixed-repos'] } : {}),
      components: await componentsFromFlags(args.component ?? [], io.cwd),
    });
    const tagOrigin = (args.tag ?? []).length ? '--tag' : `${args.config ?? ''} tags`;
    const epoch = sourceDateEpoch(io.env);
    const berthYaml = await loadConfig(join(io.cwd, CONFIG_FILE), { display: CONFIG_FILE });
    const signing = await releaseSigning(args, io, layoutDir === undefined && spec.registries.length > 0, args.provenance ?? berthYaml.release?.provenance ?? false);
    const git = signing?.attest ? await gitFacts(io.cwd, io.env) : undefined;

    if (!args['dry-run']) await checkGithubFiles(io.env);
    let incomplete: ReleaseIncomplete | undefined;
    const outcome = await withTransfer(args, io, 'releasing', async (registries) => {
      const plan = await planFromSpec(spec, format ?? base.format ?? 'oci', registries, { cwd: io.cwd, env: io.env, tagOrigin, skipEmptyTags: args['skip-empty-tags'], note: (l) => io.stderr.write(`berth: ${l}\n`), ...(layoutDir !== undefined ? { layoutDir } : {}), ...(signing?.plan ? { sign: signing.plan } : {}) });
      if (args['dry-run']) return { plan: await markExisting(plan, registries) };
      try {
        const attest = signing?.attest ? { ...signing.attest, builder: { version: berthVersion(), ...(io.env.BERTH_BUILDER_ID ? { id: io.env.BERTH_BUILDER_ID } : {}) }, facts: await releaseFacts(plan, { cwd: io.cwd, ...(git ? { git } : {}) }) } : undefined;
        return { plan, result: await executePlan(plan, { registries, ifMissing: args['if-missing'], epoch, ...(signing?.execute ? { sign: signing.execute } : {}), ...(attest ? { attest } : {}) }) };
      } catch (err) {
        if (!(err instanceof ReleaseIncomplete)) throw err;
        incomplete = err;
        return { plan, result: err.result };
      }
    });

    if (!outcome.result) {
      io.stderr.write(planToText(outcome.plan));
      if (args.json) io.stdout.write(`${JSON.stringify(planToJson(outcome.plan), null, 2)}\n`);
      return;
    }
    const result = outcome.result;
    io.stderr.write(summaryTable(result, io.stderr.isTTY ? (io.stderr.columns ?? 80) : Infinity));
    io.stderr.write(componentLines(result));
    await writeGithubFiles(result, io.env);
    // A part-way failure: what went live is reported above (and in --json beside the error).
    if (incomplete) throw incomplete;
    if (args.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  },
});
