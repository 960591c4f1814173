import { UsageError } from '../../errors.js';
import { type Format } from '../../oci/mediatype.js';
import {
  componentsFromFlags,
  executePlan,
  loadReleaseConfig,
  markExisting,
  planFromSpec,
  planToJson,
  planToText,
  summaryTable,
  writeGithubFiles,
  type ReleaseSpec,
} from '../../release/index.js';
import { parseLocation } from '../../transport/location.js';
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
  to?: string;
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
        .option('to', { type: 'string', describe: 'oci:DIR: publish into a local OCI layout instead (the default, ./berth-release, when no registry is named)' })
        .option('arch-suffixed-repos', { type: 'boolean', describe: 'also push each image as NAME-ARCH:TAG' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and touch nothing' })
        .option('if-missing', { type: 'boolean', default: false, describe: 'skip a component whose tag already points at the same index' }),
    ) as never,
  async handler(args, io) {
    if (args.config === undefined && (args.component ?? []).length === 0) throw new UsageError('BAD_FLAG', 'name what to release: --config release.yaml or --component NAME=GLOB');
    if (args.to !== undefined && (args.registry ?? []).length > 0) throw new UsageError('BAD_FLAG', '--to and --registry: publish to registries or to a layout, not both');
    let layoutDir: string | undefined;
    if (args.to !== undefined) {
      const loc = parseLocation(args.to, io.cwd, '--to');
      if (loc.kind !== 'layout' || loc.name !== undefined) throw new UsageError('BAD_FLAG', `--to: "${args.to}" is not oci:DIR (a release names its images component:tag in the layout)`);
      layoutDir = loc.dir;
    }
    const format: Format | undefined = args.format === undefined ? undefined : parseFormat(args.format);
    const base: ReleaseSpec = args.config !== undefined ? await loadReleaseConfig(args.config, io.cwd) : { registries: [], tags: [], archSuffixedRepos: false, components: [] };
    const fromFlags = await componentsFromFlags(args.component ?? [], io.cwd);
    const status = await statusValues(args, io.cwd);
    const registries = stampValues(args.registry, status, '--registry');
    const tags = stampValues(args.tag, status, '--tag');
    const spec: ReleaseSpec = {
      ...base,
      registries: registries.length ? registries : base.registries,
      tags: tags.length ? tags : base.tags,
      archSuffixedRepos: args['arch-suffixed-repos'] ?? base.archSuffixedRepos,
      components: [...base.components.filter((c) => !fromFlags.some((f) => f.name === c.name)), ...fromFlags],
    };
    const tagOrigin = (args.tag ?? []).length ? '--tag' : `${args.config ?? ''} tags`;
    const epoch = sourceDateEpoch(io.env);
    const signing = await releaseSigning(args, io, layoutDir === undefined && spec.registries.length > 0);

    const outcome = await withTransfer(args, io, 'releasing', async (registries) => {
      const plan = await planFromSpec(spec, format ?? base.format ?? 'oci', registries, { cwd: io.cwd, env: io.env, tagOrigin, ...(layoutDir !== undefined ? { layoutDir } : {}), ...(signing ? { sign: signing.plan } : {}) });
      if (args['dry-run']) return { plan: await markExisting(plan, registries) };
      return { plan, result: await executePlan(plan, { registries, ifMissing: args['if-missing'], epoch, ...(signing ? { sign: signing.execute } : {}) }) };
    });

    if (!outcome.result) {
      io.stderr.write(planToText(outcome.plan));
      if (args.json) io.stdout.write(`${JSON.stringify(planToJson(outcome.plan), null, 2)}\n`);
      return;
    }
    const result = outcome.result;
    io.stderr.write(summaryTable(result));
    for (const c of result.components) {
      const t = c.targets.reduce((n, x) => ({ uploaded: n.uploaded + x.blobs.uploaded, mounted: n.mounted + x.blobs.mounted, existing: n.existing + x.blobs.existing }), { uploaded: 0, mounted: 0, existing: 0 });
      const intoLayout = c.repositories.every((r) => r.startsWith('oci:'));
      const how = c.skipped
        ? 'already published, skipped (--if-missing)'
        : intoLayout
          ? 'written into the layout; read back and checked'
          : c.targets.every((x) => x.upToDate)
            ? 'already there under every tag; nothing written'
            : `${t.uploaded} blobs uploaded, ${t.mounted} mounted, ${t.existing} existing; read back and checked`;
      io.stderr.write(`berth: released ${c.name} ${c.digest} (${how})\n`);
      for (const s of c.signatures ?? []) io.stderr.write(`berth: signed ${s.reference} (${[...s.added, ...s.present].join(', ')}) -> ${s.signatureTag}\n`);
    }
    if (args.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    await writeGithubFiles(result, io.env);
  },
});
