import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { refuseNonFile, withParentsOf } from '../blob/atomic.js';
import { withFsErrors } from '../blob/fs-errors.js';

/**
 * A scratch folder beside the output (on its file system, so finished blobs are renamed into
 * place, not copied), removed when the work is done or fails, with any folders created for
 * it. A file-system failure on the way is reported naming `output`, the path the user gave.
 */
export async function withWorkdir<T>(besidePath: string, output: string, fn: (dir: string) => Promise<T>): Promise<T> {
  return withFsErrors(output, async () => {
    await refuseNonFile(besidePath);
    return withParentsOf(besidePath, async () => {
      const dir = await mkdtemp(join(dirname(besidePath), '.berth-work-'));
      try {
        return await fn(dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
