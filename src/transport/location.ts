import { UsageError } from '../errors.js';
import type { Registries } from '../registry/pool.js';
import { daemonTransport, type DaemonLocation } from './daemon.js';
import type { Artifact } from './image.js';
import { layoutTransport, type LayoutLocation } from './layout.js';
import { registryTransport, type RegistryLocation } from './registry.js';
import { hintWhenMissing, tarballTransport, type TarballLocation } from './tarball.js';
import type { LocalTransport, Transport } from './transport.js';

/**
 * The transports, one file each (transport.ts says what each implements). Parsing tries them
 * in this order, each that the flag accepts, and the first that claims the text parses it:
 * `docker://REF` or a registry reference, `docker`/`podman`, `oci:DIR[:NAME]`, and last any
 * path as an image tarball (`oci-archive:`/`docker-archive:PATH[:NAME]`, or bare).
 * A new transport is a file and a row here.
 */
export const TRANSPORTS = [registryTransport, daemonTransport, layoutTransport, tarballTransport] as const;

/** A location of any transport in the table. */
export type EveryLocation = Parameters<(typeof TRANSPORTS)[number]['describe']>[0];
export type TransportKind = EveryLocation['kind'];

export type { DaemonLocation, LayoutLocation, RegistryLocation, TarballLocation };

/**
 * Where an image is read from or written to locally, as written on the command line (skopeo's
 * syntax): `oci:DIR[:NAME]` an OCI layout directory, `docker-archive:PATH[:NAME]` or
 * `oci-archive:PATH[:NAME]` an image tarball (berth's hold both forms), any other path an
 * image tarball (or, when it is a directory holding `oci-layout`, that layout).
 */
export type Location = LayoutLocation | TarballLocation;
/** A local location, or an image in a registry, for commands that read or write registries as well. */
export type AnyLocation = Location | RegistryLocation;

const LOCAL: readonly Location['kind'][] = ['layout', 'tarball'];
const LOCAL_OR_REGISTRY: readonly AnyLocation['kind'][] = ['registry', 'layout', 'tarball'];

/** The transport of a location. */
export function transportOf<L extends EveryLocation>(loc: L): Transport<L> {
  return TRANSPORTS.find((t) => t.kind === loc.kind) as unknown as Transport<L>;
}

/**
 * The location `text` names, among the transports of `kinds` (table order): the first that
 * claims it parses it. `what` names the flag or argument in errors.
 */
export function parseLocationOf<L extends EveryLocation>(text: string, cwd: string, what: string, kinds: readonly L['kind'][]): L {
  if (text === '') throw new UsageError('BAD_FLAG', `${what}: is empty`);
  for (const t of TRANSPORTS) {
    if ((kinds as readonly string[]).includes(t.kind) && t.claims(text, cwd)) return t.parse(text, cwd, what) as L;
  }
  throw new UsageError('BAD_FLAG', `${what}: "${text}" names no place an image can be here`);
}

export function parseLocation(text: string, cwd: string, what: string): Location {
  return parseLocationOf<Location>(text, cwd, what, LOCAL);
}

/**
 * parseLocation, plus registry references: `docker://REF` always, and without the prefix
 * text that cannot be a path (registry.ts says when).
 */
export function parseAnyLocation(text: string, cwd: string, what: string): AnyLocation {
  const loc = parseLocationOf<AnyLocation>(text, cwd, what, LOCAL_OR_REGISTRY);
  // `alpine`, `nginx:latest`: docker's and crane's Docker Hub short names. Read as a path (a
  // file may have that name); if there is none, the error says how to mean the registry.
  if (loc.kind !== 'registry' && DOCKER_HUB_SHORT_NAME.test(text) && !text.endsWith('.tar')) hintWhenMissing(loc, `; for the registry image, write docker://${text}`);
  return loc;
}

const DOCKER_HUB_SHORT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)?(?::\w[\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** The path a local location is written at: the tarball, or the layout's folder. */
export function outputPath(loc: Location): string {
  return loc.kind === 'tarball' ? loc.path : loc.dir;
}

export function describeLocation(loc: EveryLocation): string {
  return transportOf(loc).describe(loc);
}

/** Reads the image or index at a local location or in a registry. */
export async function readAnyLocation(loc: AnyLocation, registries: Registries): Promise<Artifact> {
  return transportOf(loc).read(loc, registries);
}

/** Reads the image or index at a location, checking what it reads. */
export async function readLocation(loc: Location): Promise<Artifact> {
  return transportOf(loc).read(loc);
}

/** The transport of a location that takes images one by one (a tarball, a layout, a daemon). */
export function localTransportOf<L extends Location | DaemonLocation>(loc: L): LocalTransport<L> {
  return transportOf(loc) as LocalTransport<L>;
}
