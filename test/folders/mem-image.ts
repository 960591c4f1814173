/**
 * Small single-platform images made in memory (one real tar layer holding one file), and a
 * helper publishing an index of them to a registry through the release executor: for the
 * in-process tests of src/folders, against the real registry.
 */
import { Readable } from 'node:stream';
import { sha256Of } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { encodeJson } from '../../src/oci/manifest.js';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import type { Registries } from '../../src/registry/index.js';
import { executePlan, planRelease } from '../../src/release/index.js';
import type { Image } from '../../src/transport/image.js';

/** One ustar member `name` holding `text`, then the two zero blocks. */
function tarOf(name: string, text: string): Buffer {
  const body = Buffer.from(text);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad, Buffer.alloc(1024)]);
}

/** An OCI image for `platform` whose one layer holds /which with `which` in it (so images differ). */
export function memImage(platform: string, which: string): Image {
  const p = parsePlatform(platform);
  const layer = tarOf('which', `${which} ${formatPlatform(p)}\n`);
  const layerDesc: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Of(layer), size: layer.length };
  const config = { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), config: { Labels: { which } }, rootfs: { type: 'layers' as const, diff_ids: [layerDesc.digest] } };
  const configRaw = encodeJson(config);
  const configDesc: Descriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Of(configRaw), size: configRaw.length };
  const manifest = { schemaVersion: 2 as const, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: [layerDesc] };
  const manifestRaw = encodeJson(manifest);
  const blobs = new Map<string, Uint8Array>([[layerDesc.digest, layer], [configDesc.digest, configRaw]]);
  return {
    kind: 'image',
    mediaType: manifest.mediaType,
    digest: sha256Of(manifestRaw),
    manifestRaw,
    manifest,
    configRaw,
    config,
    blobs: {
      origin: `memory ${which}`,
      open: async (d) => {
        const b = blobs.get(d.digest);
        if (!b) throw new Error(`no blob ${d.digest}`);
        return Readable.from([Buffer.from(b)]);
      },
    },
  };
}

/** Publishes `images` as one index `<target>/<name>:<tag>` with the release executor; returns the index digest. */
export async function publishIndex(registries: Registries, target: string, name: string, tag: string, images: Image[]): Promise<string> {
  const plan = planRelease({
    components: [{ name, where: name, sources: images.map((image) => ({ platform: { os: image.config.os, architecture: image.config.architecture, ...(image.config.variant ? { variant: image.config.variant } : {}) }, source: image.blobs.origin, where: image.blobs.origin, image })) }],
    tags: [tag],
    destination: { kind: 'registries', registries: [target] },
    archSuffixedRepos: false,
    format: 'oci',
  });
  const r = await executePlan(plan, { registries });
  return r.components[0]!.digest;
}
