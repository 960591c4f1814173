/**
 * berth.yaml's `images:` section, for image folders (`berth images`):
 *
 *   images:
 *     dir: images                                   # the image folder (default: images)
 *     registry: ghcr.io/acme/images                 # where images live outside CI job types
 *     local-name: gvisor.dev/images/{{ .Name }}:latest   # the name `load` gives an image
 *     registries:                                   # by CI job type (kyma's image-builder)
 *       presubmit: [dev.example/images]
 *       postsubmit: [prod.example/images]
 *       restricted:                                 # used instead with --restricted (a list: both job types)
 *         presubmit: [restricted.example/images-dev]
 *         postsubmit: [restricted.example/images-prod]
 *       pull:                                       # printed URIs: where people pull what was pushed
 *         restricted.example/images-dev: restricted.example/dev
 *     platforms: [linux/amd64, linux/arm64]         # every image's default (else the host's)
 *     arch-suffix: _{{ .UnameArch }}                # push each platform as NAME_x86_64 too (gVisor)
 *     builds:                                       # per-image settings, and images living elsewhere
 *       test-infra/ginkgo:
 *         dockerfile: images/ginkgo/Dockerfile      # relative to berth.yaml's folder
 *         context: .                                # default: the Dockerfile's folder
 *         platforms: [linux/amd64]
 *         build-args: {GO_VERSION: "1.22"}
 *         build-arg-file: images/ginkgo/envs
 *         tags: ["{{ .ShortSHA }}"]
 */
import { checkRegistry } from './registry-name.js';
import { parsePlatform } from '../oci/platform.js';
import { boolean, configError, list, record, section, string, type Spec } from './schema.js';

/** Why a local-name template is unusable, or undefined: it must name the image (`{{ .Name }}`). */
export function checkLocalName(value: string): string | undefined {
  if (!value.includes('{{ .Name }}')) return `"${value}" has no {{ .Name }}, so every image would get the same name`;
  const rest = value.replaceAll('{{ .Name }}', 'x');
  if (rest.includes('{{')) return `"${value}": only {{ .Name }} is known in a local name`;
  return undefined;
}

const UNAME: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', '386': 'i686' };

/** Why an arch-suffix template is unusable, or undefined: it knows {{ .Arch }} (amd64) and {{ .UnameArch }} (x86_64). */
export function checkArchSuffix(value: string): string | undefined {
  const rest = value.replaceAll('{{ .Arch }}', 'a').replaceAll('{{ .UnameArch }}', 'a');
  if (rest === value) return `"${value}" has no {{ .Arch }} or {{ .UnameArch }}, so every platform would get the same repository`;
  if (rest.includes('{{')) return `"${value}": only {{ .Arch }} and {{ .UnameArch }} are known in an arch suffix`;
  if (!/^[a-z0-9._/-]*$/.test(rest)) return `"${value}": a repository name takes lower-case letters, digits, '.', '_', '-'`;
  return undefined;
}

/** `images.arch-suffix` filled in for one platform (`_{{ .UnameArch }}` gives `_x86_64`, gVisor's spelling). */
export function archSuffix(template: string, architecture: string, variant?: string): string {
  const arch = `${architecture}${variant && architecture === 'arm' ? variant : ''}`;
  return template.replaceAll('{{ .Arch }}', arch).replaceAll('{{ .UnameArch }}', UNAME[architecture] ?? arch);
}

/** The name `load` and `build` give an image: `images.local-name` with `{{ .Name }}` filled in. */
export function localImageName(template: string | undefined, name: string): string {
  return (template ?? '{{ .Name }}:latest').replaceAll('{{ .Name }}', name);
}

const registries = list(string({ check: checkRegistry }));
const byJob = section({ presubmit: registries, postsubmit: registries });

/** `restricted:` as a list (both job types) or by job type, as the unrestricted ones. */
const restricted: Spec<{ presubmit?: string[]; postsubmit?: string[] }> = {
  type: 'a list of registries or a mapping of presubmit/postsubmit lists',
  shape: `either(${registries.shape}|${byJob.shape})`,
  read(node, where) {
    if (node.kind === 'seq') {
      const all = registries.read(node, where);
      return { presubmit: all, postsubmit: all };
    }
    if (node.kind === 'map') return byJob.read(node, where);
    throw configError(where, node.line, 'want a list of registries, or presubmit: and postsubmit: lists');
  },
};

const platform = string({
  check: (v) => {
    try {
      parsePlatform(v);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  },
});

const build = section({
  dockerfile: string(),
  context: string(),
  platforms: list(platform),
  'build-args': record(string({ coerce: true })),
  'build-arg-file': string(),
  tags: list(string({ coerce: true })),
});

export const imagesSpec = section({
  dir: string(),
  registry: string({ check: checkRegistry }),
  'local-name': string({ check: checkLocalName }),
  /** A repository RUN steps are read from and written to (as --cache-from and --cache-to). */
  'cache-repo': string(),
  registries: section({ presubmit: registries, postsubmit: registries, restricted, pull: record(string({ check: checkRegistry }), { keyType: 'registries' }) }),
  platforms: list(platform),
  builds: record(build, { keyType: 'image names' }),
  'arch-suffix': string({ check: checkArchSuffix }),
  /** `berth images push` attaches signed SLSA provenance, as --provenance. */
  provenance: boolean(),
});
