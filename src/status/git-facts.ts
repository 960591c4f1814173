/**
 * What the status needs from git, in as few git calls as possible: one
 * `git log -1 --format=%H %ct %(describe:…)` gives the commit, its time and the describe
 * (git 2.35 and later; older git costs one more call), and `git status --porcelain` the
 * dirty state. The origin remote is read from the git config file when that is plain. Given
 * every hint (as the status script gives them), no git process is started.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Git } from './git.js';

export interface GitFacts {
  /** The full hash of HEAD. */
  commit: string;
  /** Committer time of HEAD, seconds since the epoch. */
  commitTime: number;
  /** Any output from `git status --porcelain` (or a failing `git status`, as the scripts do). */
  dirty: boolean;
  /** `git describe --tags --match='v*' --abbrev=14 <commit>`; absent when no `v*` tag is behind HEAD. */
  describe?: string;
  /** Commits behind HEAD (`git rev-list --count`), read only when `describe` is absent. */
  commitCount?: number;
  /** The history is shallow: read only when `describe` is absent, where it may be why. */
  shallow?: boolean;
  /** `remote.origin.url`, when asked for and set. */
  remote?: string;
}

/**
 * Values the caller has already read from git. The status script passes them all, read
 * while it computed its cache key, so the facts match the key exactly (no race with a file
 * saved in between) and node starts no git process at all.
 */
export interface GitHints {
  commit?: string;
  dirty?: boolean;
  /** Seconds since the epoch, with `commit`. */
  commitTime?: number;
  /** The output of DESCRIBE_FORMAT for `commit`: '' when no v* tag is behind it. */
  describe?: string;
  /** `git rev-parse --git-common-dir`, where the config file is. */
  commonDir?: string;
}

export type GitFactsResult = { facts: GitFacts } | { absent: string };

const SHA_RE = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/** `git log --format` for `git describe --tags --match='v*' --abbrev=14` (git 2.35+). */
export const DESCRIBE_FORMAT = '%(describe:tags,match=v*,abbrev=14)';

export async function readGitFacts(git: Git, hints: GitHints = {}, opts: { remote?: boolean } = {}): Promise<GitFactsResult> {
  const hinted = hints.commit !== undefined && SHA_RE.test(hints.commit);
  const remoteP = opts.remote ? readRemote(git, hinted ? hints.commonDir : undefined) : undefined;
  const statusP = hinted && hints.dirty !== undefined ? undefined : git(['status', '--porcelain']);
  let commit: string;
  let time: number;
  let describe: string | undefined;
  if (hinted && hints.commitTime !== undefined && Number.isSafeInteger(hints.commitTime)) {
    commit = hints.commit!;
    time = hints.commitTime;
    describe = hints.describe;
  } else {
    const log = await git(['log', '-1', `--format=%H%n%ct%n${DESCRIBE_FORMAT}`, hinted ? `${hints.commit}^{commit}` : 'HEAD']);
    const [c, t, d] = log.stdout.split('\n');
    if (log.code !== 0 || !c || !SHA_RE.test(c) || !/^[0-9]+$/.test(t ?? '')) {
      await Promise.all([statusP, remoteP]);
      if (hinted) return readGitFacts(git, {}, opts);
      return { absent: log.code === -1 ? 'git is not installed' : 'not a git checkout with a commit' };
    }
    commit = c;
    time = Number.parseInt(t!, 10);
    describe = d ?? '';
  }
  if (describe === undefined || describe.startsWith('%(')) {
    // not given, or git older than 2.35, which does not know these describe options
    const d = await git(['describe', '--tags', '--match=v*', '--abbrev=14', `${commit}^{commit}`]);
    describe = d.code === 0 ? d.stdout.trim() : '';
  }
  const facts: GitFacts = { commit, commitTime: time, dirty: false };
  if (describe !== '') {
    facts.describe = describe;
  } else {
    const [count, shallow] = await Promise.all([git(['rev-list', '--count', commit]), git(['rev-parse', '--is-shallow-repository'])]);
    facts.commitCount = Number.parseInt(count.stdout.trim(), 10) || 0;
    facts.shallow = shallow.stdout.trim() === 'true';
  }
  facts.dirty = statusP === undefined ? hints.dirty! : isDirty(await statusP);
  const remote = await remoteP;
  if (remote !== undefined) facts.remote = remote;
  return { facts };
}

function isDirty(status: { code: number; stdout: string }): boolean {
  return status.code !== 0 || status.stdout.length > 0;
}

async function readRemote(git: Git, commonDir: string | undefined): Promise<string | undefined> {
  if (commonDir !== undefined) {
    try {
      const r = remoteFromGitConfig(readFileSync(join(commonDir, 'config'), 'utf8'));
      if (r !== 'ask-git') return r ?? undefined;
    } catch {
      // fall through to git
    }
  }
  const out = await git(['config', '--get', 'remote.origin.url']);
  const url = out.stdout.trim();
  return out.code === 0 && url !== '' ? url : undefined;
}

/**
 * `remote.origin.url` from the text of a git config file without starting git, for the
 * plain files `git remote add` writes. Anything unusual (includes, quoting, escapes, the old
 * `[remote.origin]` form) answers 'ask-git'; null means there is no such remote.
 */
export function remoteFromGitConfig(text: string): string | null | 'ask-git' {
  let inOrigin = false;
  let url: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (/^\[\s*include/i.test(line) || /^\[\s*remote\./i.test(line)) return 'ask-git';
      const m = /^\[\s*remote\s+"([^"\\]*)"\s*\]$/i.exec(line);
      if (!m && /^\[\s*remote\b/i.test(line)) return 'ask-git';
      inOrigin = m !== null && m[1] === 'origin';
      continue;
    }
    if (!inOrigin) continue;
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!kv) return 'ask-git';
    if (kv[1]!.toLowerCase() !== 'url') continue;
    const value = kv[2] ?? '';
    if (/["\\]/.test(value) || /\s[#;]/.test(value)) return 'ask-git';
    url = value.trim();
  }
  return url;
}
