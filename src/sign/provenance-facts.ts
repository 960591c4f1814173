/**
 * Collecting the facts provenance is made from, where they live: the git checkout (commit,
 * whether the tree is clean, the origin without credentials) and the facts file `berth build
 * --provenance` writes beside its output.
 */
import { readFile } from 'node:fs/promises';
import { gitIn } from '../status/git.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { factsFileFor, looksSecret, parseFacts, type BuildFacts } from './provenance-statement.js';

/** The checkout's commit and state; undefined outside a git checkout. */
export async function gitFacts(cwd: string, env: NodeJS.ProcessEnv): Promise<BuildFacts['git']> {
  const git = gitIn(cwd, env);
  const head = await git(['rev-parse', 'HEAD']).catch(() => undefined);
  if (!head || head.code !== 0) return undefined;
  const status = await git(['status', '--porcelain']).catch(() => undefined);
  const origin = await git(['config', '--get', 'remote.origin.url']).catch(() => undefined);
  const uri = origin?.code === 0 ? sanitizeRemote(origin.stdout.trim()) : undefined;
  return { commit: head.stdout.trim(), clean: status?.code === 0 && status.stdout.trim() === '', ...(uri ? { uri } : {}) };
}

/** `git+https://host/org/repo` from a remote URL, any user or password removed. */
export function sanitizeRemote(url: string): string | undefined {
  if (url === '') return undefined;
  const scp = /^[^@/]+@([^:/]+):(.+)$/.exec(url);
  if (scp) return `git+ssh://${scp[1]}/${scp[2]}`;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return `git+${u.toString()}`;
  } catch {
    return undefined;
  }
}

/** The facts file beside `output`, when there is one. */
export async function readFactsBeside(output: string): Promise<BuildFacts | undefined> {
  const file = factsFileFor(output);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UsageError('UNREADABLE', `${file}: cannot read (${code ?? 'error'})`);
  }
  return parseFacts(text, file);
}

/**
 * Writes `facts` beside `output` (`<output>.provenance.json`, atomically), build arguments
 * that look secret left out: what `berth build --provenance` leaves for release and push.
 */
export async function writeFactsBeside(output: string, facts: BuildFacts): Promise<string> {
  const file = factsFileFor(output);
  const buildArgs = Object.fromEntries(Object.entries(facts.buildArgs ?? {}).filter(([k]) => !looksSecret(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFileAtomic(file, `${JSON.stringify({ ...facts, buildArgs }, null, 2)}\n`);
  return file;
}
