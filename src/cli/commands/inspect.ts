import { renderNames, renderSummary, type NameEntry, type Summary } from '../../image/summary.js';
import { UsageError } from '../../errors.js';
import { formatPlatform, parsePlatform } from '../../oci/platform.js';
import { withRegistries } from '../../registry/pool.js';
import type { Artifact } from '../../transport/image.js';
import { inspectArtifact, locationNames } from '../../transport/inspect.js';
import { describeLocation, parseAnyLocation, readAnyLocation, readLocation } from '../../transport/location.js';
import { imagePlatform, selectImage } from '../../transport/select.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';
import { registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';
import { listAttached, type Attached } from '../../sign/verify-attestation.js';

/** `inspect --attestations` for people: one block per kind, one line per item. */
function attachedText(a: Attached): string {
  const lines = [`reference     ${a.reference}`];
  lines.push(a.signatures ? `signatures    ${a.signatures.tag} (${a.signatures.layers.length})` : 'signatures    none');
  lines.push(a.attestations ? `attestations  ${a.attestations.tag}` : 'attestations  none');
  for (const l of a.attestations?.layers ?? []) lines.push(`  ${l.predicateType ?? '(no predicate type)'}  ${l.digest}`);
  lines.push(a.referrers ? `referrers     ${a.referrers.tag} (referrers tag schema)` : 'referrers     none');
  for (const m of a.referrers?.manifests ?? []) lines.push(`  ${m.artifactType ?? '(no artifact type)'}${m.predicateType ? ` ${m.predicateType}` : ''}  ${m.digest}`);
  return lines.join('\n');
}

interface InspectArgs extends RegistryArgs {
  image: string;
  raw: boolean;
  config: boolean;
  platform?: string;
  attestations: boolean;
}

export const inspectCommand = defineCommand<InspectArgs>({
  command: 'inspect <image>',
  describe: 'Show the names, images and platforms of an image or index, checking every blob against its digest',
  builder: (y) =>
    registryFlags(y.positional('image', { type: 'string', demandOption: true, describe: 'an image tarball, oci:DIR[:NAME], docker-archive:PATH, oci-archive:PATH, or [docker://]registry/repo[:tag][@digest]' }))
      .option('raw', { type: 'boolean', default: false, describe: 'print the manifest or index bytes exactly as stored (as crane manifest, skopeo inspect --raw)' })
      .option('config', { type: 'boolean', default: false, describe: "print the image's config bytes exactly as stored (as crane config, skopeo inspect --config --raw)" })
      .option('platform', { type: 'string', describe: 'os/arch[/variant]: inspect only that image out of an index' })
      .option('attestations', { type: 'boolean', default: false, describe: 'list what is attached to a registry image: cosign signatures (.sig), attestations (.att) and OCI referrers' }) as never,
  async handler(args, io) {
    if (args.raw && args.config) throw new UsageError('BAD_FLAG', '--raw and --config: give one');
    const loc = parseAnyLocation(args.image, io.cwd, 'image');
    if (args.attestations) {
      if (loc.kind !== 'registry') throw new UsageError('BAD_FLAG', `--attestations: ${describeLocation(loc)} is not in a registry; signatures and attestations are stored beside images in registries`);
      const attached = await withRegistries(await registryOptions(args, io), (registries) => listAttached(registries, loc.ref));
      print(io, args.json, attached, attachedText(attached));
      return;
    }
    const platform = args.platform === undefined ? undefined : parsePlatform(args.platform);
    const where = describeLocation(loc);
    const show = async (found: Artifact, names: NameEntry[], reference?: string): Promise<void> => {
      // Several index.json entries are read as one index that is stored nowhere; entries with
      // the same digest (two tags on one index) are one artifact.
      const distinct = [...new Set(names.map((n) => n.digest))];
      let artifact = found;
      if (names.length > 1 && artifact.kind === 'index' && distinct.length === 1) artifact = await artifact.child(artifact.index.manifests[0]!);
      // Entries of several names are listed one by one; entries of one name (one per platform,
      // as berth build writes them) are that name's multi-platform image, shown as one index.
      const synthetic = names.length > 1 && distinct.length > 1;
      const severalNames = new Set(names.map((n) => n.name)).size > 1;
      if (platform) artifact = await selectImage(artifact, platform, where);
      if (args.raw) {
        if (synthetic && !platform) throw new UsageError('BAD_FLAG', `--raw: ${where} stores no one manifest for this: its index.json lists ${distinct.length}; ${severalNames ? 'name one (oci:DIR:NAME) or ' : ''}give --platform`);
        io.stdout.write(Buffer.from(artifact.kind === 'image' ? artifact.manifestRaw : artifact.raw).toString('utf8'));
        return;
      }
      if (args.config) {
        const image = await selectImage(artifact, undefined, `--config: ${where}`);
        io.stdout.write(Buffer.from(image.configRaw).toString('utf8'));
        return;
      }
      let summary: Summary | { kind: 'layout'; manifests: Summary[] };
      if (synthetic && severalNames && artifact.kind === 'index' && !platform) {
        const index = artifact;
        const children = distinct.map((d) => index.index.manifests.find((m) => m.digest === d)!);
        summary = { kind: 'layout', manifests: await Promise.all(children.map(async (d) => inspectArtifact(await index.child(d)))) };
      } else summary = await inspectArtifact(artifact);
      const text = [
        ...(reference ? [`reference  ${reference}`] : []),
        ...(names.length ? [renderNames(names), ''] : []),
        summary.kind === 'layout' ? summary.manifests.map((m) => renderSummary(m)).join('\n\n') : renderSummary(summary),
      ].join('\n');
      print(io, args.json, { ...(reference ? { reference } : {}), names: names.map((n) => n.name === '(no name)' ? { ...n, name: null } : n), ...summary }, text);
    };
    if (loc.kind !== 'registry') {
      await show(await readLocation(loc), await locationNames(loc));
      return;
    }
    // A registry image is named by the reference given, and shows the digest it is served under, to pin it by.
    await withRegistries(await registryOptions(args, io), async (registries) => {
      const artifact = await readAnyLocation(loc, registries);
      const reference = `${loc.ref.registry}/${loc.ref.repository}@${artifact.digest}`;
      const platforms = artifact.kind === 'index' ? artifact.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : m.mediaType)) : [formatPlatform(imagePlatform(artifact))];
      await show(artifact, [{ name: describeLocation(loc), digest: artifact.digest, mediaType: artifact.mediaType, platforms }], reference);
    });
  },
});
