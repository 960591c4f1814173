/** berth.yaml: its sections, the loader and the schema language. */
export { loadConfig, parseConfig, CONFIG_FILE, type LoadConfigOptions } from './read-config.js';
export { berthYamlSchema, type BerthConfig } from './sections.js';
export { boolean, configError, integer, list, oneOf, record, section, string, type Infer, type Located, type LocatedEntry, type SectionValue, type Spec, type StringOptions, type Where } from './schema.js';
export { checkHostPort, checkRegistry } from './registry-name.js';
export { TEMPLATE_FIELDS, checkTagSpec, tryParseTagSpec, type SpecError, type TagSpec, type TemplateField, type TemplatePart, type TemplateValues } from './tag-spec.js';
export { JOB_TYPES, SIGNER_TYPES, signingSpec, type JobType, type SignerSpec, type SigningConfig } from './signing.js';
export { MIRRORS_ENV, checkMirror, mirrorsFor, mirrorsFromEnv, parseMirror, type RegistryMirror } from './mirrors.js';
