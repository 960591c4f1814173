/**
 * Real git repositories in temporary folders for the status and tags tests: commits at fixed
 * times, lightweight and annotated tags, dirty trees, detached HEADs, shallow clones. Git
 * runs with no global or system config, so the tests see only what they set up.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** An environment for git and berth that ignores the machine's git config and CI variables. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    LANG: 'C',
    ...extra,
  };
}

/** 2024-03-05T10:20:30Z and a day after each further commit, unless a date is given. */
export const FIRST_COMMIT_EPOCH = 1709634030;

export class TestRepo {
  private commits = 0;
  private constructor(readonly dir: string) {}

  static async init(dir: string, opts: { branch?: string } = {}): Promise<TestRepo> {
    await mkdir(dir, { recursive: true });
    const repo = new TestRepo(dir);
    await repo.git('init', '-q', '-b', opts.branch ?? 'main');
    await repo.git('config', 'user.email', 'test@example.com');
    await repo.git('config', 'user.name', 'Test');
    await repo.git('config', 'commit.gpgsign', 'false');
    await repo.git('config', 'tag.gpgsign', 'false');
    return repo;
  }

  /** A repository already on disk (a clone). */
  static at(dir: string): TestRepo {
    return new TestRepo(dir);
  }

  async git(...args: string[]): Promise<string> {
    const epoch = FIRST_COMMIT_EPOCH + 86400 * Math.max(0, this.commits - 1);
    const date = `@${epoch} +0000`;
    try {
      const { stdout } = await execFileP('git', args, { cwd: this.dir, env: cleanEnv({ GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }) });
      return stdout.trim();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`git ${args.join(' ')} failed in ${this.dir}: ${e.stderr || e.message}`);
    }
  }

  async write(path: string, content: string): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await writeFile(join(this.dir, path), content);
  }

  /** Writes the files, commits everything, and returns the new HEAD. */
  async commit(files: Record<string, string> = {}, message = `commit ${this.commits + 1}`): Promise<string> {
    for (const [p, c] of Object.entries(files)) await this.write(p, c);
    if (Object.keys(files).length === 0) await this.write(`file-${this.commits + 1}.txt`, `${this.commits + 1}\n`);
    this.commits++;
    await this.git('add', '-A');
    await this.git('commit', '-q', '-m', message);
    return this.head();
  }

  /** Commit time of the n-th commit made by commit() (1-based). */
  static epochOf(n: number): number {
    return FIRST_COMMIT_EPOCH + 86400 * (n - 1);
  }

  async tag(name: string, opts: { annotated?: boolean; at?: string } = {}): Promise<void> {
    const args = opts.annotated ? ['tag', '-a', name, '-m', name] : ['tag', name];
    if (opts.at) args.push(opts.at);
    await this.git(...args);
  }

  head(): Promise<string> {
    return this.git('rev-parse', 'HEAD');
  }
}
