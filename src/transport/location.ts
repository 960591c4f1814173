import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import type { Registries } from '../registry/pool.js';
import type { Artifact } from './image.js';
import { directoryFiles, tarballFiles } from './layout-files.js';
import { readLayout } from './layout-read.js';
import { readRegistry } from './registry.js';

/**
 * Where an image is read from or written to, as written on the command line:
 * `oci:DIR[:NAME]` an OCI layout directory, any other path an image tarball (or, when it is
 * a directory holding `oci-layout`, that layout).
 */
export type Location = { kind: 'layout'; dir: string; name?: string } | { kind: 'tarball'; path: string; name?: string };

export function parseLocation(text: string, cwd: string, what: string): Location {
  if (text === '') throw new UsageError('BAD_FLAG', `${what}: is empty`);
  if (text.startsWith('oci:')) {
    const rest = text.slice('oci:'.length);
    // The name follows the first colon after the directory; a name may itself hold colons
    // (`oci:dist:quay.io/x/y:v1`). Directories with colons can be written ./a:b via a path.
    const colon = rest.indexOf(':');
    const dir = colon < 0 ? rest : rest.slice(0, colon);
    const name = colon < 0 ? undefined : rest.slice(colon + 1);
    if (dir === '') throw new UsageError('BAD_FLAG', `${what}: "${text}" names no directory; write oci:DIR[:NAME]`);
    if (name === '') throw new UsageError('BAD_FLAG', `${what}: "${text}" has an empty name after the colon`);
    return name === undefined ? { kind: 'layout', dir: resolve(cwd, dir) } : { kind: 'layout', dir: resolve(cwd, dir), name };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(text) || text.startsWith('docker://')) {
    throw new UsageError('BAD_FLAG', `${what}: "${text}": registry references are not accepted here; give an image tarball or oci:DIR[:NAME] (berth push and berth copy write to registries)`);
  }
  return { kind: 'tarball', path: resolve(cwd, text) };
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
  return parseLocation(text, cwd, what);
}

function looksLikeRegistryReference(text: string): boolean {
  if (text.startsWith('oci:') || /^[/.~]/.test(text) || text.endsWith('.tar')) return false;
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
  return loc.kind === 'layout' ? `oci:${loc.dir}${loc.name ? `:${loc.name}` : ''}` : loc.path;
}

/** Reads the image or index at a local location or in a registry. */
export async function readAnyLocation(loc: AnyLocation, registries: Registries): Promise<Artifact> {
  return loc.kind === 'registry' ? readRegistry(registries, loc.ref) : readLocation(loc);
}

/** Reads the image or index at a location, checking what it reads. */
export async function readLocation(loc: Location): Promise<Artifact> {
  if (loc.kind === 'layout') return readLayout(directoryFiles(loc.dir), loc.name);
  const s = await stat(loc.path).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `${loc.path}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code})`}`);
  });
  if (s.isDirectory()) return readLayout(directoryFiles(loc.path), loc.name);
  return readLayout(await tarballFiles(loc.path), loc.name);
}
