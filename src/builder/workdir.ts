import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * A scratch folder beside the output (on its file system, so finished blobs are renamed into
 * place, not copied), removed when the work is done or fails.
 */
export async function withWorkdir<T>(besidePath: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const parent = dirname(besidePath);
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, '.berth-work-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
