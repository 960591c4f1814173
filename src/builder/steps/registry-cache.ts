import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { encodeJson } from '../../oci/manifest.js';
import { isDigest, sha256Of, type Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Reference } from '../../oci/reference.js';
import type { Registries } from '../../registry/pool.js';
import { pushBlobs } from '../../registry/push.js';
import type { StepResult } from './step-cache.js';
import type { RemoteStepCache } from './executor.js';
import { readAll } from '../../util/streams.js';

/**
 * A step cache in a registry repository (`--cache-to REF`, `--cache-from REF`, berth.yaml's
 * `images.cache-repo`), as kaniko's --cache-repo keeps one: one OCI manifest per step key,
 * tagged `step-<key>`, whose config (`application/vnd.berth.step.v1+json`) names the key and
 * whose one layer is the step's layer (none when the step changed no file). Layers are pushed
 * once per repository (HEAD first), so steps shared between images are stored once.
 */
export const STEP_CONFIG_TYPE = 'application/vnd.berth.step.v1+json';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export function registryStepCache(registries: Registries, ref: Reference, jobs = 4): RemoteStepCache {
  const client = registries.client(ref.registry);
  const repo = ref.repository;
  const tag = (key: string) => (key.startsWith('mount-') ? key : `step-${key}`);
  return {
    async get(key, copyTo) {
      const head = await client.headManifest(repo, tag(key));
      if (!head) return undefined;
      const m = await client.getManifest(repo, tag(key));
      const manifest = JSON.parse(Buffer.from(m.raw).toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
      if (manifest.config?.mediaType !== STEP_CONFIG_TYPE) return undefined;
      const config = JSON.parse(Buffer.from(await readAll(await client.fetchBlob(repo, manifest.config))).toString('utf8')) as { key: string; empty?: boolean; diffID?: string };
      if (config.key !== key) return undefined;
      if (config.empty) return { empty: true } satisfies StepResult;
      const layer = manifest.layers?.[0];
      if (!layer || !config.diffID || !isDigest(config.diffID)) return undefined;
      await pipeline(await client.fetchBlob(repo, layer), createWriteStream(copyTo));
      return { digest: layer.digest, diffID: config.diffID as Digest, size: layer.size, path: copyTo };
    },
    async put(key, result, path) {
      const configRaw = encodeJson(result.empty ? { key, empty: true } : { key, diffID: result.diffID });
      const config: Descriptor = { mediaType: STEP_CONFIG_TYPE, digest: sha256Of(configRaw), size: configRaw.length };
      const layers: Descriptor[] = result.empty ? [] : [{ mediaType: LAYER_TYPE, digest: result.digest, size: result.size }];
      await pushBlobs(client, repo, [
        { desc: config, open: async () => (await import('node:stream')).Readable.from([Buffer.from(configRaw)]) },
        ...layers.map((desc) => ({ desc, open: async () => createReadStream(path!) })),
      ], { jobs });
      const raw = encodeJson({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config, layers });
      await client.putManifest(repo, tag(key), { mediaType: MANIFEST_TYPE, raw, digest: sha256Of(raw) });
    },
  };
}
