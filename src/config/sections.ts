/**
 * Every key `berth.yaml` accepts, in one place. To add a section, add one entry to
 * `berthYamlSchema` with its spec from ./schema.ts (and a validator for its values, kept in
 * src/config or src/oci so the config stays below the layers that use it); the loader, the error messages, the config cache key and the
 * `BerthConfig` type follow from it. A key not listed here is an error.
 */
import { checkHostPort, checkRegistry } from './registry-name.js';
import { checkMirror } from './mirrors.js';
import { checkTagSpec } from './tag-spec.js';
import { imagesSpec } from './images.js';
import { signingSpec } from './signing.js';
import { boolean, list, section, string, type Infer } from './schema.js';

export const berthYamlSchema = section({
  /** Default for STABLE_DOCKER_REGISTRY when $DOCKER_REGISTRY is not set. */
  registry: string({ check: checkRegistry }),
  /** Default for STABLE_DOCKER_PUSH_REGISTRY when $DOCKER_PUSH_REGISTRY is not set. */
  'push-registry': string({ check: checkRegistry }),
  /** Default tags for `berth tags`: `name=template`, a template, or a plain value. */
  tags: list(string({ check: checkTagSpec, coerce: true })),
  /** Registry hosts reached over plain HTTP, as `--insecure-registry` (localhost and 127.0.0.1 always are). */
  'insecure-registries': list(string({ check: checkHostPort })),
  /** Where to read content by digest first: `[REGISTRY=]URL` (./mirrors.ts); $BERTH_REGISTRY_MIRRORS comes before. */
  'registry-mirrors': list(string({ check: checkMirror })),
  /** Who signs what `berth release --sign` and `berth sign` publish (see ./signing.ts). */
  signing: signingSpec,
  /** Image folders for `berth images` (see ./images.ts). */
  images: imagesSpec,
  /** `berth release` defaults: `provenance: true` attaches signed SLSA provenance, as --provenance. */
  release: section({ provenance: boolean() }),
}, { renamed: { pushRegistry: 'push-registry' } });

export type BerthConfig = Infer<typeof berthYamlSchema>;
