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
 *       restricted: [restricted.example/images]     # used instead with --restricted
 */
import { checkRegistry } from './registry.js';
import { list, section, string } from './schema.js';

/** Why a local-name template is unusable, or undefined: it must name the image (`{{ .Name }}`). */
export function checkLocalName(value: string): string | undefined {
  if (!value.includes('{{ .Name }}')) return `"${value}" has no {{ .Name }}, so every image would get the same name`;
  const rest = value.replaceAll('{{ .Name }}', 'x');
  if (rest.includes('{{')) return `"${value}": only {{ .Name }} is known in a local name`;
  return undefined;
}

/** The name `load` and `build` give an image: `images.local-name` with `{{ .Name }}` filled in. */
export function localImageName(template: string | undefined, name: string): string {
  return (template ?? '{{ .Name }}:latest').replaceAll('{{ .Name }}', name);
}

const registries = list(string({ check: checkRegistry }));

export const imagesSpec = section({
  dir: string(),
  registry: string({ check: checkRegistry }),
  'local-name': string({ check: checkLocalName }),
  /** A repository RUN steps are read from and written to (as --cache-from and --cache-to). */
  'cache-repo': string(),
  registries: section({ presubmit: registries, postsubmit: registries, restricted: registries }),
});
