/**
 * Registry mirrors: where to read content by digest before asking the registry that names
 * it. `registry-mirrors:` in berth.yaml (the name Docker's daemon.json gives them) and
 * $BERTH_REGISTRY_MIRRORS hold entries `[REGISTRY=]URL`:
 *
 *   http://127.0.0.1:5000                  every registry's repositories, at the same paths
 *   gcr.io=https://mirror.example.com/gcr  gcr.io's, under /gcr (gcr.io/distroless/base -> mirror.example.com/gcr/distroless/base)
 *
 * What a digest names cannot differ between a mirror and the origin, and berth checks every
 * byte against it, so a mirror is tried for reads by digest only; a tag is always asked of
 * the origin.
 */
import { checkHostPort } from './registry-name.js';

/** The variable holding mirrors, comma-separated, read before berth.yaml's. */
export const MIRRORS_ENV = 'BERTH_REGISTRY_MIRRORS';

export interface RegistryMirror {
  /** The registry it mirrors; undefined for every registry. */
  registry?: string;
  /** host[:port] to reach. */
  host: string;
  /** Path before the repository (no slashes at either end), or ''. */
  prefix: string;
  /** Given as http://: reached over plain HTTP. */
  insecure: boolean;
}

const PATH_RE = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** `[REGISTRY=]URL` as a mirror, or why it is not one. */
export function parseMirror(text: string): RegistryMirror | string {
  const eq = text.indexOf('=');
  const registry = eq >= 0 ? text.slice(0, eq) : undefined;
  let url = eq >= 0 ? text.slice(eq + 1) : text;
  if (registry !== undefined && checkHostPort(registry)) return `"${registry}" in "${text}" is not a registry host[:port]`;
  let insecure = false;
  if (url.startsWith('http://')) {
    insecure = true;
    url = url.slice('http://'.length);
  } else if (url.startsWith('https://')) {
    url = url.slice('https://'.length);
  } else if (/^[a-z]+:\/\//i.test(url)) {
    return `"${text}": a mirror is reached over http:// or https://`;
  }
  url = url.replace(/\/+$/, '');
  const slash = url.indexOf('/');
  const host = slash >= 0 ? url.slice(0, slash) : url;
  const prefix = slash >= 0 ? url.slice(slash + 1) : '';
  if (host === '' || checkHostPort(host)) return `"${text}" is not a mirror URL like https://mirror.example.com or http://127.0.0.1:5000`;
  if (prefix !== '' && !PATH_RE.test(prefix)) return `"${text}": the path "${prefix}" is not a repository path`;
  return { ...(registry !== undefined ? { registry } : {}), host, prefix, insecure };
}

/** Why `text` is not a mirror entry, or undefined (for berth.yaml's schema). */
export function checkMirror(text: string): string | undefined {
  const m = parseMirror(text);
  return typeof m === 'string' ? m : undefined;
}

/** The entries of $BERTH_REGISTRY_MIRRORS (commas or spaces between them); throws the reason for a bad one. */
export function mirrorsFromEnv(value: string | undefined): RegistryMirror[] {
  const out: RegistryMirror[] = [];
  for (const entry of (value ?? '').split(/[,\s]+/).filter((e) => e !== '')) {
    const m = parseMirror(entry);
    if (typeof m === 'string') throw new Error(`${MIRRORS_ENV}: ${m}`);
    out.push(m);
  }
  return out;
}

/** The mirrors to try for `registry`, in order. */
export function mirrorsFor(mirrors: readonly RegistryMirror[], registry: string): RegistryMirror[] {
  return mirrors.filter((m) => (m.registry === undefined || m.registry === registry) && m.host !== registry);
}
