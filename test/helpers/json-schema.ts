/**
 * A small JSON Schema (draft-07 subset) checker for tests: type, const, enum, pattern,
 * minLength, required, properties, additionalProperties, items, minItems and local $ref.
 * Returns every violation as `path: what`; an empty list is a pass.
 */
export type Schema = {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'boolean' | 'number';
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  minItems?: number;
  definitions?: Record<string, Schema>;
};

export function validate(value: unknown, schema: Schema, root: Schema = schema, path = '$'): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/definitions/', '');
    const target = root.definitions?.[name];
    if (!target) return [`${path}: unknown $ref ${schema.$ref}`];
    return validate(value, target, root, path);
  }
  const errs: string[] = [];
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (schema.type && kind !== schema.type) return [`${path}: is ${kind}, not ${schema.type}`];
  if ('const' in schema && value !== schema.const) errs.push(`${path}: is ${JSON.stringify(value)}, not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) errs.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errs.push(`${path}: "${value}" does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errs.push(`${path}: shorter than ${schema.minLength}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(v, schema.items!, root, `${path}[${i}]`)));
  }
  if (kind === 'object') {
    const o = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in o)) errs.push(`${path}: lacks ${r}`);
    for (const [k, v] of Object.entries(o)) {
      const p = schema.properties?.[k];
      if (p) errs.push(...validate(v, p, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}: has ${k}, which the schema does not allow`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...validate(v, schema.additionalProperties, root, `${path}.${k}`));
    }
  }
  return errs;
}
