import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { withFsErrors } from '../util/fs-errors.js';
import { UsageError } from '../errors.js';
import { writeArtifactLocally } from './content.js';
import { readDockerArchive } from './docker-archive.js';
import { refuseSeveralNames } from './inspect.js';
import { directoryFiles, tarballFiles } from './layout-files.js';
import { readLayout } from './layout-read.js';
import { parsePrefixed, type LocalTransport } from './transport.js';

/**
 * An image tarball: `docker-archive:PATH[:NAME]`, `oci-archive:PATH[:NAME]` (berth's hold
 * both forms), or any other path (`-` is stdout, where a tarball streams). Read, a path that
 * is a directory holding `oci-layout` is that layout, and a Docker archive without an OCI
 * layout is read too.
 */
export type TarballLocation = { kind: 'tarball'; path: string; name?: string };

const PREFIXES = ['oci-archive:', 'docker-archive:'];

/** What a missing file's error adds (`; for the registry image, write docker://alpine`). */
const missingHints = new WeakMap<TarballLocation, string>();

/** Adds `hint` to the error that the location's file is missing. */
export function hintWhenMissing(loc: object, hint: string): void {
  missingHints.set(loc as TarballLocation, hint);
}

export const tarballTransport: LocalTransport<TarballLocation> = {
  kind: 'tarball',
  // Any path is an image tarball: the last row of the table.
  claims: () => true,
  parse(text, cwd, what) {
    const prefix = PREFIXES.find((p) => text.startsWith(p));
    if (prefix) {
      const { path, name } = parsePrefixed(text, prefix, cwd, what, 'file');
      return name === undefined ? { kind: 'tarball', path } : { kind: 'tarball', path, name };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//.test(text) || text.startsWith('docker://')) {
      throw new UsageError('BAD_FLAG', `${what}: "${text}": registry references are not accepted here; give an image tarball or oci:DIR[:NAME] (berth push and berth copy write to registries)`);
    }
    // `-` is stdout (a tarball streams there); other outputs refuse it before any work.
    return { kind: 'tarball', path: text === '-' ? '-' : resolve(cwd, text) };
  },
  describe: (loc) => `${loc.path}${loc.name ? `:${loc.name}` : ''}`,
  async read(loc) {
    const s = await stat(loc.path).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError('UNREADABLE', `${loc.path}: ${err.code === 'ENOENT' ? `no such file${missingHints.get(loc) ?? ''}` : `cannot read (${err.code})`}`);
    });
    if (s.isDirectory()) return readLayout(directoryFiles(loc.path), loc.name);
    const files = await tarballFiles(loc.path);
    // A Docker archive without an OCI layout (skopeo's docker-archive:, older docker save).
    if (!(await files.has('oci-layout')) && (await files.has('manifest.json'))) return readDockerArchive(loc.path, loc.name);
    return readLayout(files, loc.name);
  },
  write: (loc, artifact, opts) => writeArtifactLocally(tarballTransport, loc, artifact, opts),
  async writeContent(loc, content, names, epoch) {
    // The writer (and the tar writer under it) loads only when writing locally: a push never needs it.
    // A file-system failure is one line naming the tarball (fs-errors.ts).
    await withFsErrors(loc.path, async () => {
      await (await import('./tarball-write.js')).writeImageTarball(loc.path, content, loc.name ? [loc.name] : names, epoch);
    });
  },
  refuseSeveralNames: (loc, where) => refuseSeveralNames(loc, where, loc.path, async () => ((await stat(loc.path)).isDirectory() ? 'oci' : 'oci-archive')),
};
