/**
 * Work folders that outlive no berth: each is named after its owner, `<prefix>-<pid>-<start>-<random>`
 * (`start`: the process's start time, in clock ticks since boot from /proc/PID/stat, so a PID
 * reused by another process does not count as the owner). A running berth removes its own on
 * success, failure, SIGINT and SIGTERM (scratch.ts); those of a berth killed with -9 are
 * removed by the next run that makes a work folder in the same place, and by `berth cache prune`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackScratch } from './scratch.js';

/** Prefixes of berth's work folders: `.berth-work` beside outputs, `images` in the cache's work/ folder, `berth-load` in the temp folder. */
export const WORK_PREFIXES = ['.berth-work', 'images', 'berth-load'] as const;

const OWNED = /^(.+)-(\d+)-(\d+)-[0-9a-f]{12}$/;
/** Folders from before owners were recorded (`.berth-work-<hex>`, mkdtemp's `images-XXXXXX`): removed once a day old. */
const LEGACY = /^(?:\.berth-work-[0-9a-f]{12}|images-[A-Za-z0-9]{6}|berth-load-[A-Za-z0-9]{6})$/;
const LEGACY_AGE_MS = 24 * 3600 * 1000;

/** A process's start time in clock ticks since boot, or undefined where /proc does not say (not Linux, or gone). */
export function processStart(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces; fields count from after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 of stat(5)
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined;
/** This process's `<pid>-<start>`. */
export function ownerTag(): string {
  ownStart ??= processStart(process.pid) ?? String(Math.round(Date.now() - process.uptime() * 1000));
  return `${process.pid}-${ownStart}`;
}

/** Whether the process that made a folder tagged `pid`, `start` still runs. */
export function ownerAlive(pid: number, start: string): boolean {
  if (pid === process.pid) return `${pid}-${start}` === ownerTag();
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStart(pid);
  return now === undefined || now === start;
}

/**
 * Makes a new work folder `<parent>/<prefix>-<pid>-<start>-<random>` (parent created if
 * missing), tracked as scratch so a signal removes it, after removing those of dead owners.
 * Returns its path and the function that removes it.
 */
export async function makeWorkFolder(parent: string, prefix: string, opts: { mode?: number } = {}): Promise<{ dir: string; remove: () => Promise<void> }> {
  await sweepWorkFolders(parent);
  const dir = join(parent, `${prefix}-${ownerTag()}-${randomBytes(6).toString('hex')}`);
  // Tracked before it exists: a signal handled after mkdir returns, but before this code resumes, must still find it.
  const untrack = trackScratch(dir);
  try {
    await mkdir(dir, opts.mode !== undefined ? { mode: opts.mode } : {});
  } catch (err) {
    untrack();
    throw err;
  }
  return {
    dir,
    // Never throws (see removeScratchDir): what ended the work is the error to report.
    remove: async () => {
      await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 }).catch(() => {});
      untrack();
    },
  };
}

/**
 * A new empty work folder `<parent>/.berth-work-<pid>-<start>-*`, tracked as scratch until
 * removeScratchDir (scratch.ts). Made with the umask's mode (not mkdtemp's 0700), since a
 * new layout built in it is renamed into place.
 */
export async function makeScratchDir(parent: string): Promise<string> {
  return (await makeWorkFolder(parent, '.berth-work')).dir;
}

/** Removes, in `parent`, the work folders whose owner has ended. Returns the paths removed. Never fails: a sweep only tidies. */
export async function sweepWorkFolders(parent: string, prefixes: readonly string[] = WORK_PREFIXES): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!prefixes.some((p) => name.startsWith(`${p}-`))) continue;
    const m = OWNED.exec(name);
    let dead = false;
    if (m && prefixes.includes(m[1]!)) dead = !ownerAlive(Number(m[2]), m[3]!);
    else if (LEGACY.test(name)) dead = await stat(join(parent, name)).then((s) => Date.now() - s.mtimeMs > LEGACY_AGE_MS, () => false);
    if (!dead) continue;
    const path = join(parent, name);
    if (await rm(path, { recursive: true, force: true }).then(() => true, () => false)) removed.push(path);
  }
  return removed;
}

/** What `berth cache prune` sweeps: the cache's work/ folder, the cache folder itself, and berth-load-* in the temp folder. */
export async function pruneCacheWorkFolders(cacheDir: string): Promise<string[]> {
  return [...(await sweepWorkFolders(join(cacheDir, 'work'))), ...(await sweepWorkFolders(cacheDir)), ...(await sweepWorkFolders(tmpdir(), ['berth-load']))];
}
