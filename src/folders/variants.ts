/**
 * `variants.yaml` beside an image's Dockerfile (kyma's image-builder): each variant builds the
 * image once more with its build args, its tags suffixed `-<variant>`.
 *
 *   main: {GO_VERSION: "1.22"}
 *   fips: {GO_VERSION: "1.22", GOEXPERIMENT: boringcrypto}
 */
import { parseWith } from '../config/yaml-tree.js';
import { record, string } from '../config/schema.js';

export interface Variant {
  name: string;
  buildArgs: Record<string, string>;
}

const VARIANT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const variantsSpec = record(
  record(string({ coerce: true }), {
    keyType: 'a build argument name',
    key: (k) => (ARG_NAME.test(k) ? undefined : `"${k}" is not a build argument name (letters, digits and _, not starting with a digit)`),
  }),
  {
    keyType: 'a variant name',
    key: (k) => (VARIANT_NAME.test(k) ? undefined : `"${k}" cannot be a tag suffix (letters, digits, '.', '_', '-'; 64 at most)`),
  },
);

/** Parses the file's text; errors name `file:line: key`. Variants come back sorted by name. */
export async function parseVariants(text: string, file: string): Promise<Variant[]> {
  const entries = await parseWith(text, file, variantsSpec);
  return entries
    .map((v) => ({ name: v.key, buildArgs: Object.fromEntries(v.value.map((a) => [a.key, a.value])) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
