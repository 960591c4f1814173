/**
 * Tag specs in use: parsed with the grammar of src/config/tag-spec.ts (errors become
 * UsageErrors naming where the spec came from), and rendered with a context's values.
 */
import { UsageError } from '../errors.js';
import { tryParseTagSpec, type TagSpec, type TemplateValues } from '../config/tag-spec.js';

export {
  TEMPLATE_FIELDS,
  checkTagSpec,
  tryParseTagSpec,
  type SpecError,
  type TagSpec,
  type TemplateField,
  type TemplatePart,
  type TemplateValues,
} from '../config/tag-spec.js';

/** Parses a spec; `origin` names where it came from in the error ("--tag"). */
export function parseTagSpec(source: string, origin = '--tag'): TagSpec {
  const r = tryParseTagSpec(source);
  if ('error' in r) throw new UsageError(r.code, `${origin} "${source}": ${r.error}`);
  return r;
}

/** The template names it uses that have no value here (empty when it can be rendered). */
export function missingValues(spec: TagSpec, values: TemplateValues, env: Readonly<Record<string, string | undefined>>): string[] {
  const missing: string[] = [];
  for (const p of spec.parts) {
    if ('field' in p && !values[p.field]) missing.push(`.${p.field}`);
    if ('env' in p && !env[p.env]) missing.push(`$${p.env}`);
  }
  return missing;
}

/** Renders a spec whose values are all known (see missingValues). */
export function renderTagSpec(spec: TagSpec, values: TemplateValues, env: Readonly<Record<string, string | undefined>>): string {
  return spec.parts.map((p) => ('text' in p ? p.text : 'field' in p ? (values[p.field] ?? '') : (env[p.env] ?? ''))).join('');
}
