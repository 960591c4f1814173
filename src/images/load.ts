/**
 * Loading an image where people run it: into Docker (its daemon answering, `DOCKER_HOST`
 * honoured) or podman (installed; its storage as containers-storage.conf says), or written
 * to an image tarball or a layout. The image goes in under one local name; Docker and podman
 * receive it as an image tarball (`docker load` / `podman load`), which both read.
 */
import { makeWorkFolder } from '../util/work-folders.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperationalError, UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { writeLocation } from '../transport/copy.js';
import { describeLocation, parseLocation, type Location } from '../transport/location.js';

export type LoadTarget = { kind: 'docker' } | { kind: 'podman' } | { kind: 'location'; location: Location };

/** `--into`: docker, podman, an image tarball path, or oci:DIR[:NAME]. */
export function parseLoadTarget(text: string, cwd: string): LoadTarget {
  if (text === 'docker' || text === 'podman') return { kind: text };
  // A bare word is a typo of an engine far more often than a file name (`--into dokcer`).
  if (!/^(oci|oci-archive|docker-archive):/.test(text) && !text.endsWith('.tar') && !text.includes('/')) {
    throw new UsageError('BAD_FLAG', `--into "${text}": give docker, podman, a FILE.tar, oci:DIR[:NAME], or a path with a / (./${text})${didYouMean(text, ['docker', 'podman'])}`);
  }
  return { kind: 'location', location: parseLocation(text, cwd, '--into') };
}

export function describeLoadTarget(t: LoadTarget): string {
  return t.kind === 'location' ? describeLocation(t.location) : t.kind;
}

async function answers(cmd: string, args: string[]): Promise<boolean> {
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { reject: false, timeout: 10_000, stdin: 'ignore' }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** With no --into: Docker when its daemon answers, else podman when installed, else bad usage naming the choices. */
export async function defaultLoadTarget(): Promise<LoadTarget> {
  if (await answers('docker', ['version', '--format', '{{.Server.Version}}'])) return { kind: 'docker' };
  if (await answers('podman', ['--version'])) return { kind: 'podman' };
  throw new UsageError('NO_LOADER', 'no Docker daemon answers and podman is not installed: start Docker, install podman, or give --into FILE.tar or --into oci:DIR');
}

export interface LoadResult {
  into: string;
  name: string;
}

/** Loads one image under `name`. */
export async function loadImage(image: Image, platform: Platform, ref: Reference, target: LoadTarget, epoch: number): Promise<LoadResult> {
  const name = formatReference(ref);
  const content = { images: [{ image, platform }] };
  if (target.kind === 'location') {
    await writeLocation(target.location, content, [name], epoch);
    return { into: describeLocation(target.location), name };
  }
  const work = await makeWorkFolder(tmpdir(), 'berth-load', { mode: 0o700 });
  const dir = work.dir;
  try {
    const tar = join(dir, 'image.tar');
    await writeLocation({ kind: 'tarball', path: tar }, content, [name], epoch);
    const { execa } = await import('execa');
    const r = await execa(target.kind, ['load', '-i', tar], { reject: false, all: true, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new OperationalError('LOAD_FAILED', `${target.kind} load failed: ${loaderError(String(r.all ?? ''), r.exitCode, (r as { code?: string }).code)}`);
    return { into: target.kind, name };
  } finally {
    await work.remove();
  }
}

/**
 * The line of a loader's output that says what went wrong: its last `Error:` line (podman
 * follows it with details, a last line that hides the cause), else its last line.
 */
export function loaderError(output: string, exitCode: number | undefined, code?: string): string {
  if (exitCode === undefined) return code === 'ENOENT' ? 'it is not installed (not on PATH)' : `it could not be started (${code ?? 'unknown error'})`;
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.filter((l) => /^(Error|error)\b/.test(l)).at(-1) ?? lines.at(-1) ?? `exit ${exitCode}`;
  return line.length > 400 ? `${line.slice(0, 399)}…` : line;
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
