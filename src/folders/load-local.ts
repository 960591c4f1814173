/**
 * Loading an image where people run it: into Docker or podman (transport/daemon.ts), or
 * written to an image tarball or a layout. The image goes in under one local name.
 */
import { UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { writeLocation } from '../transport/copy-image.js';
import { answeringDaemon, DAEMON_ENGINES, daemonTransport, type DaemonLocation } from '../transport/daemon.js';
import { describeLocation, parseLocationOf, type Location } from '../transport/location.js';

export { loaderError } from '../transport/daemon.js';

/** Where `berth load` puts an image: Docker or podman (transport/daemon.ts), an image tarball, or a layout. */
export type LoadTarget = Location | DaemonLocation;

const LOAD_KINDS: readonly LoadTarget['kind'][] = ['daemon', 'layout', 'tarball'];

/** `--into`: docker, podman, an image tarball path, or oci:DIR[:NAME]. */
export function parseLoadTarget(text: string, cwd: string): LoadTarget {
  // A bare word is a typo of an engine far more often than a file name (`--into dokcer`).
  if (!daemonTransport.claims(text, cwd) && !/^(oci|oci-archive|docker-archive):/.test(text) && !text.endsWith('.tar') && !text.includes('/')) {
    throw new UsageError('BAD_FLAG', `--into "${text}": give docker, podman, a FILE.tar, oci:DIR[:NAME], or a path with a / (./${text})${didYouMean(text, [...DAEMON_ENGINES])}`);
  }
  return parseLocationOf<LoadTarget>(text, cwd, '--into', LOAD_KINDS);
}

export function describeLoadTarget(t: LoadTarget): string {
  return describeLocation(t);
}

/** With no --into: Docker when its daemon answers, else podman when installed, else bad usage naming the choices. */
export async function defaultLoadTarget(): Promise<LoadTarget> {
  const daemon = await answeringDaemon();
  if (daemon) return daemon;
  throw new UsageError('NO_LOADER', 'no Docker daemon answers and podman is not installed: start Docker, install podman, or give --into FILE.tar or --into oci:DIR');
}

export interface LoadResult {
  into: string;
  name: string;
}

/** Loads one image under `name`. */
export async function loadImage(image: Image, platform: Platform, ref: Reference, target: LoadTarget, epoch: number): Promise<LoadResult> {
  const name = formatReference(ref);
  await writeLocation(target, { images: [{ image, platform }] }, [name], epoch);
  return { into: describeLocation(target), name };
}

/** The names a tarball's or layout's index.json gives its entries (ref.name, containerd's name). */
export async function locationNames(loc: Location): Promise<string[]> {
  const { directoryFiles, tarballFiles } = await import('../transport/layout-files.js');
  const { refNames } = await import('../transport/layout-read.js');
  const files = loc.kind === 'tarball' ? await tarballFiles(loc.path) : directoryFiles(loc.dir);
  let index: { manifests?: { annotations?: Record<string, string> }[] };
  if (loc.kind === 'tarball' && !(await files.has('index.json'))) {
    // A docker save archive without an OCI layout (older Docker, skopeo's docker-archive:): its RepoTags.
    const { dockerArchiveTags } = await import('../transport/docker-archive.js');
    return dockerArchiveTags(files, loc.path);
  }
  try {
    index = JSON.parse(Buffer.from(await files.read('index.json')).toString('utf8')) as typeof index;
  } catch {
    return [];
  }
  return [...new Set((index.manifests ?? []).flatMap((m) => refNames(m as Parameters<typeof refNames>[0])))];
}
