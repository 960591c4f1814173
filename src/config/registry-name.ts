import { parseReference } from '../oci/reference.js';

/**
 * Why `value` cannot prefix an image name (`host[:port][/path]`, as `ghcr.io/acme`), or
 * undefined when it can. The stamped name is `<registry>/<component>:<tag>`.
 */
export function checkRegistry(value: string): string | undefined {
  if (value === '') return 'the registry is empty';
  if (value.endsWith('/')) return `"${value}" ends with "/"; write the registry without it`;
  if (/[:@]/.test(value.split('/').slice(1).join('/'))) return `"${value}" holds a tag or digest; name only host[:port][/path]`;
  try {
    parseReference(`${value}/x:latest`, { what: 'registry' });
  } catch {
    return `"${value}" is not a registry (want host[:port][/path] in lowercase, e.g. ghcr.io/acme)`;
  }
  return undefined;
}

/** Why `value` is not `HOST[:PORT]` (a registry host to reach over plain HTTP), or undefined. */
export function checkHostPort(value: string): string | undefined {
  return /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(value) ? undefined : `"${value}" is not HOST[:PORT]`;
}
