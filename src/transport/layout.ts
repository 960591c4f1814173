import { withFsErrors } from '../util/fs-errors.js';
import { writeArtifactLocally } from './content.js';
import { refuseSeveralNames } from './inspect.js';
import { directoryFiles } from './layout-files.js';
import { readLayout } from './layout-read.js';
import { parsePrefixed, type LocalTransport } from './transport.js';

/** An OCI image layout directory, `oci:DIR[:NAME]`: read whole, or the entry named NAME. */
export type LayoutLocation = { kind: 'layout'; dir: string; name?: string };

export const layoutTransport: LocalTransport<LayoutLocation> = {
  kind: 'layout',
  claims: (text) => text.startsWith('oci:'),
  parse(text, cwd, what) {
    const { path, name } = parsePrefixed(text, 'oci:', cwd, what, 'directory');
    return name === undefined ? { kind: 'layout', dir: path } : { kind: 'layout', dir: path, name };
  },
  describe: (loc) => `oci:${loc.dir}${loc.name ? `:${loc.name}` : ''}`,
  read: (loc) => readLayout(directoryFiles(loc.dir), loc.name),
  write: (loc, artifact, opts) => writeArtifactLocally(layoutTransport, loc, artifact, opts),
  async writeContent(loc, content, names) {
    // The writer (and the tar writer under it) loads only when writing locally: a push never needs it.
    // A file-system failure is one line naming the layout (fs-errors.ts).
    await withFsErrors(loc.dir, async () => {
      await (await import('./layout-write.js')).addToLayout(loc.dir, content, loc.name ? [loc.name] : names.length ? names : [undefined]);
    });
  },
  refuseSeveralNames: (loc, where) => refuseSeveralNames(loc, where, loc.dir, async () => 'oci'),
};
