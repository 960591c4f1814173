import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import type { Registries } from '../registry/pool.js';
import { readDockerArchive } from './docker-archive.js';
import type { Artifact } from './image.js';
import { directoryFiles, tarballFiles } from './layout-files.js';
import { readLayout } from './layout-read.js';
import { readRegistry } from './registry.js';

/**
 * Where an image is read from or written to, as written on the command line (skopeo's
 * syntax): `oci:DIR[:NAME]` an OCI layout directory, `docker-archive:PATH[:NAME]` or
 * `oci-archive:PATH[:NAME]` an image tarball (berth's hold both forms), any other path an
 * image tarball (or, when it is a directory holding `oci-layout`, that layout).
 */
export type Location = { kind: 'layout'; dir: string; name?: string } | { kind: 'tarball'; path: string; name?: string };

/** skopeo's transports for local images: `oci:DIR[:NAME]`, and the two tarball forms (berth's tarballs are both). */
const LOCAL_TRANSPORTS = { 'oci:': 'layout', 'oci-archive:': 'tarball', 'docker-archive:': 'tarball' } as const;

export function parseLocation(text: string, cwd: string, what: string): Location {
  if (text === '') throw new UsageError('BAD_FLAG', `${what}: is empty`);
  for (const [prefix, kind] of Object.entries(LOCAL_TRANSPORTS)) {
    if (!text.startsWith(prefix)) continue;
    const rest = text.slice(prefix.length);
    // The name follows the first colon after the path; a name may itself hold colons
    // (`oci:dist:quay.io/x/y:v1`). Paths with colons can be written ./a:b without a prefix.
    const colon = rest.indexOf(':');
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const name = colon < 0 ? undefined : rest.slice(colon + 1);
    const form = kind === 'layout' ? `${prefix}DIR[:NAME]` : `${prefix}PATH[:NAME]`;
    if (path === '') throw new UsageError('BAD_FLAG', `${what}: "${text}" names no ${kind === 'layout' ? 'directory' : 'file'}; write ${form}`);
    if (name === '') throw new UsageError('BAD_FLAG', `${what}: "${text}" has an empty name after the colon`);
    const at = kind === 'layout' ? { kind, dir: resolve(cwd, path) } : { kind, path: resolve(cwd, path) };
    return (name === undefined ? at : { ...at, name }) as Location;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(text) || text.startsWith('docker://')) {
    throw new UsageError('BAD_FLAG', `${what}: "${text}": registry references are not accepted here; give an image tarball or oci:DIR[:NAME] (berth push and berth copy write to registries)`);
  }
  // `-` is stdout (a tarball streams there); other outputs refuse it before any work.
  return { kind: 'tarball', path: text === '-' ? '-' : resolve(cwd, text) };
}

/** An image in a registry, for commands that read or write registries as well. */
export type RegistryLocation = { kind: 'registry'; ref: Reference };
export type AnyLocation = Location | RegistryLocation;

/**
 * parseLocation, plus registry references. `docker://REF` is always one (weakly parsed:
 * `docker://alpine` is docker.io/library/alpine:latest). Without the prefix, text is a
 * registry reference only when all of these hold, so that a relative path such as
 * `out/x.tar` is never taken for one: it is not an existing path, it does not start with
 * `/`, `.` or `~` and does not end in `.tar`, and its first component names a registry host
 * (holds a dot or a colon, or is `localhost`) before a `/`.
 */
export function parseAnyLocation(text: string, cwd: string, what: string): AnyLocation {
  if (text.startsWith('docker://')) return { kind: 'registry', ref: parseReference(text.slice('docker://'.length), { what }) };
  if (looksLikeRegistryReference(text) && !existsSync(resolve(cwd, text))) return { kind: 'registry', ref: parseReference(text, { what, strict: false }) };
  const loc = parseLocation(text, cwd, what);
  // `alpine`, `nginx:latest`: docker's and crane's Docker Hub short names. Read as a path (a
  // file may have that name); if there is none, the error says how to mean the registry.
  if (DOCKER_HUB_SHORT_NAME.test(text) && !text.endsWith('.tar')) registryHints.set(loc, `; for the registry image, write docker://${text}`);
  return loc;
}

const DOCKER_HUB_SHORT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)?(?::\w[\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
const registryHints = new WeakMap<Location, string>();

function looksLikeRegistryReference(text: string): boolean {
  if (/^(oci|oci-archive|docker-archive):/.test(text) || /^[/.~]/.test(text) || text.endsWith('.tar')) return false;
  const slash = text.indexOf('/');
  if (slash <= 0) return false;
  const first = text.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/** The path a local location is written at: the tarball, or the layout's folder. */
export function outputPath(loc: Location): string {
  return loc.kind === 'tarball' ? loc.path : loc.dir;
}

export function describeLocation(loc: AnyLocation): string {
  if (loc.kind === 'registry') return formatReference(loc.ref);
  return loc.kind === 'layout' ? `oci:${loc.dir}${loc.name ? `:${loc.name}` : ''}` : `${loc.path}${loc.name ? `:${loc.name}` : ''}`;
}

/** Reads the image or index at a local location or in a registry. */
export async function readAnyLocation(loc: AnyLocation, registries: Registries): Promise<Artifact> {
  return loc.kind === 'registry' ? readRegistry(registries, loc.ref) : readLocation(loc);
}

/** Reads the image or index at a location, checking what it reads. */
export async function readLocation(loc: Location): Promise<Artifact> {
  if (loc.kind === 'layout') return readLayout(directoryFiles(loc.dir), loc.name);
  const s = await stat(loc.path).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `${loc.path}: ${err.code === 'ENOENT' ? `no such file${registryHints.get(loc) ?? ''}` : `cannot read (${err.code})`}`);
  });
  if (s.isDirectory()) return readLayout(directoryFiles(loc.path), loc.name);
  const files = await tarballFiles(loc.path);
  // A Docker archive without an OCI layout (skopeo's docker-archive:, older docker save).
  if (!(await files.has('oci-layout')) && (await files.has('manifest.json'))) return readDockerArchive(loc.path, loc.name);
  return readLayout(files, loc.name);
}
