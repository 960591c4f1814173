/**
 * The three seed trees of test/fixtures (gVisor's images/, MicroShift's side-image components,
 * kyma's test-infra) copied into a git repository of the test, with `@REGISTRY@` and
 * `@NOTARY@` made the addresses of the registry and signing service the test started, and
 * the helpers the seed suites share: berth as a user runs it, a registry behind the fault
 * proxy (to count what was written), upstream images pushed the way projects find them.
 */
import { cp, readdir, readFile, lstat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { run } from '../../helpers/tools.js';
import { cleanEnv, TestRepo } from '../../status/git-repo.js';

export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

/** Copies test/fixtures/NAME to `dest` (symlinks and modes kept), fills in the placeholders, commits it. */
export async function seedTree(name: string, dest: string, vars: Record<string, string>): Promise<TestRepo> {
  await cp(join(FIXTURES, name), dest, { recursive: true, verbatimSymlinks: true });
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir)) {
      const p = join(dir, e);
      const st = await lstat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        const text = await readFile(p, 'utf8');
        let out = text;
        for (const [k, v] of Object.entries(vars)) out = out.replaceAll(`@${k}@`, v);
        if (out !== text) await writeFile(p, out);
      }
    }
  };
  await walk(dest);
  const repo = await TestRepo.init(dest);
  await repo.git('add', '-A');
  await repo.git('commit', '-q', '-m', 'seed tree');
  return repo;
}

/** berth as a user runs it in `cwd`, with a clean environment and the given cache folder. */
export function berthIn(cwd: string, base: Record<string, string>): (args: string[], extra?: Record<string, string>) => Promise<CliResult> {
  return (args, extra = {}) => berthBin(args, { cwd, env: cleanEnv({ SOURCE_DATE_EPOCH: '1700000000', ...base, ...extra }) });
}

/** `skopeo inspect` of a registry reference (raw: the manifest or index as stored). */
export async function inspect(ref: string, raw = false): Promise<{ manifests?: { digest: string; platform: { architecture: string; variant?: string } }[]; layers?: { digest: string }[]; Layers?: string[] }> {
  return JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${ref}`])) as never;
}

/** The JSON array `--json` printed (outcomes, listed images, built images). */
export function parsed<T>(r: CliResult): T[] {
  if (r.code !== 0 && !r.stdout.trim()) throw new Error(`berth exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T[];
}

export interface Listed {
  name: string;
  variant?: string;
  tag: string;
  contentHash: string;
  platforms: string[];
  deps: string[];
  notes?: string[];
}

export interface Outcome {
  name: string;
  status: string;
  tags: string[];
  repositories: string[];
  pullRepositories?: string[];
  digest?: string;
  platforms: string[];
  added: string[];
  built?: string[];
  signed: boolean;
  signedBy?: string;
  wouldTag?: string[];
  wouldSign?: string[];
  error?: string;
}

/** name(-variant) → tag, from `images list --json`. */
export const tagsOf = (listed: readonly Listed[]): Record<string, string> => Object.fromEntries(listed.map((l) => [`${l.name}${l.variant ? `-${l.variant}` : ''}`, l.tag]));
