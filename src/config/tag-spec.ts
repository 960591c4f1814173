/**
 * The grammar of tag specs, as berth.yaml's `tags` and `berth tags --tag` accept them:
 * `name=value`, or a bare value that names itself; a value is a plain tag or a template in
 * the style of kyma's image-builder (`v{{ .Date }}-{{ .ShortSHA }}`, `pr-{{ .PRNumber }}`,
 * `{{ .Env "SUFFIX" }}`). It lives here, below src/tags, so that berth.yaml is checked
 * whole when it is read; src/tags renders specs in a context.
 */
import { isValidTag } from '../oci/reference.js';

/** `ContentHash` has a value only for image folders (`berth images push`): the image's content-hash tag. */
export const TEMPLATE_FIELDS = ['Version', 'ShortSHA', 'CommitSHA', 'Date', 'PRNumber', 'Branch', 'ContentHash'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export type TemplatePart = { text: string } | { field: TemplateField } | { env: string };

export interface TagSpec {
  /** The spec as written, for messages. */
  source: string;
  /** The tag's name: given as `name=`, else derived from the value. */
  name: string;
  parts: TemplatePart[];
}

/** The values a template can use; a field left out is unknown in this context. */
export type TemplateValues = Partial<Record<TemplateField, string>>;

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAG_CHARS_RE = /^[A-Za-z0-9._-]*$/;
const KNOWN = [...TEMPLATE_FIELDS.map((f) => `.${f}`), '.Env "NAME"'].join(', ');

/** What is wrong with a spec: a template (BAD_TEMPLATE) or a tag value or name (BAD_TAG). */
export interface SpecError {
  error: string;
  code: 'BAD_TEMPLATE' | 'BAD_TAG';
}

const badTag = (error: string): SpecError => ({ error, code: 'BAD_TAG' });
const badTemplate = (error: string): SpecError => ({ error, code: 'BAD_TEMPLATE' });

/** Parses a spec, or says in one line what is wrong with it. */
export function tryParseTagSpec(source: string): TagSpec | SpecError {
  let name: string | undefined;
  let value = source;
  const eq = source.indexOf('=');
  const open = source.indexOf('{{');
  if (eq >= 0 && (open < 0 || eq < open)) {
    name = source.slice(0, eq);
    value = source.slice(eq + 1);
    if (!NAME_RE.test(name)) return badTag(`"${name}" is not a tag name (want letters, digits, _ . -)`);
  }
  if (value === '') return badTag('the tag value is empty');
  const parts: TemplatePart[] = [];
  let rest = value;
  while (rest !== '') {
    const start = rest.indexOf('{{');
    if (start < 0) {
      parts.push({ text: rest });
      break;
    }
    if (start > 0) parts.push({ text: rest.slice(0, start) });
    const end = rest.indexOf('}}', start + 2);
    if (end < 0) return badTemplate(`"{{" is not closed by "}}"`);
    const action = rest.slice(start + 2, end).trim();
    const part = parseAction(action);
    if ('error' in part) return part;
    parts.push(part);
    rest = rest.slice(end + 2);
  }
  const templated = parts.some((p) => !('text' in p));
  for (const p of parts) {
    if ('text' in p && !TAG_CHARS_RE.test(p.text)) {
      return badTag(templated ? `"${p.text}" cannot be part of a tag (want letters, digits, _ . -)` : `"${value}" is not a valid tag (want [A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
    }
  }
  if (!templated && !isValidTag(value)) return badTag(`"${value}" is not a valid tag (want [A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  if (name === undefined) {
    name = value.replace(/[^A-Za-z0-9_-]+/g, '');
    if (name === '') return badTag(`cannot derive a name from "${value}"; write name=value`);
  }
  return { source, name, parts };
}

function parseAction(action: string): TemplatePart | SpecError {
  const env = /^\.?Env\s+"([^"]*)"$/.exec(action);
  if (env) {
    const n = env[1]!;
    if (!ENV_NAME_RE.test(n)) return badTemplate(`"${n}" is not an environment variable name`);
    return { env: n };
  }
  if (/^\.?Env$/.test(action)) return badTemplate('Env needs a variable name: {{ .Env "NAME" }}');
  const field = /^\.?([A-Za-z][A-Za-z0-9]*)$/.exec(action);
  if (field && (TEMPLATE_FIELDS as readonly string[]).includes(field[1]!)) return { field: field[1] as TemplateField };
  const shown = action === '' ? '{{ }}' : field ? `.${field[1]}` : `{{ ${action} }}`;
  return badTemplate(`unknown template field ${shown} (known: ${KNOWN})`);
}

/** Why `source` is not a usable spec, or undefined (for berth.yaml's schema). */
export function checkTagSpec(source: string): string | undefined {
  const r = tryParseTagSpec(source);
  return 'error' in r ? r.error : undefined;
}
