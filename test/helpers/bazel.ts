/**
 * Runs real Bazel in a temporary copy of berth's workspace, so tests never write
 * bazel-* symlinks or caches into the tree. Each workspace has its own output root and
 * output base under the temporary folder, builds offline, and is shut down and removed by
 * close(). Debian's bazel-bootstrap (Bazel 4.2.3) is what CI installs.
 *
 *   const ws = await bazelWorkspace({ copy: ['WORKSPACE', '.bazelrc', 'build/testing'] });
 *   try { await ws.build(['//build/testing:stamp_example'], { flags: ['--stamp'] }); }
 *   finally { await ws.close(); }
 */
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** The bazel to run: $BERTH_TEST_BAZEL, else `bazel` on PATH. */
export const BAZEL = process.env.BERTH_TEST_BAZEL ?? 'bazel';

/** Variables that would change what berth status prints; a workspace starts without them. */
const CI_AND_OVERRIDE_VARS = /^(DOCKER_|APP_VERSION$|SOURCE_DATE_EPOCH$|JOB_TYPE$|PULL_|REPO_OWNER$|REPO_NAME$|GITHUB_|BERTH_)/;

export function bazelAvailable(): boolean {
  try {
    execFileSync('/bin/sh', ['-c', `command -v ${BAZEL}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface BazelResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BazelWorkspaceOptions {
  /** Paths under the repository root to copy (files or folders), keeping their place. */
  copy: string[];
  /** More files to write into the workspace: path → contents. */
  files?: Record<string, string>;
}

export interface BazelWorkspace {
  /** The workspace root. */
  dir: string;
  /** The temporary folder holding it (and Bazel's output root and base): room for caches and logs. */
  tmp: string;
  /** Writes a file of the workspace, making its folders. */
  write(path: string, text: string | Uint8Array): Promise<void>;
  /** `bazel <args>` with this workspace's startup flags; `env` is added to a clean environment. */
  run(args: string[], opts?: { env?: Record<string, string> }): Promise<BazelResult>;
  /** `bazel build` with the given flags; throws with Bazel's last lines when it fails. */
  build(targets: string[], opts?: { flags?: string[]; env?: Record<string, string> }): Promise<BazelResult>;
  /** Reads a file of the workspace, e.g. `bazel-out/stable-status.txt` or `bazel-bin/...`. */
  read(path: string): Promise<string>;
  /** Shuts the Bazel server down and removes everything. */
  close(): Promise<void>;
}

/**
 * What a copy of berth's own workspace needs: the Bazel files, the rules, the hello programs
 * //build:server-images is made of, the status command, and berth's bundles (`npm run build`).
 */
export const BERTH_WORKSPACE_FILES = [
  'WORKSPACE',
  'BUILD.bazel',
  '.bazelrc',
  '.bazelignore',
  'build',
  'demo/hello',
  'hack/build/print-workspace-status.sh',
  'dist/lean/berth.cjs',
  'dist/lean/status.cjs',
  'dist/lean/yaml.cjs',
];

/** Copies `paths` (under the repository root) to the same places under `dest`. */
export async function copyFromRepo(dest: string, paths: readonly string[]): Promise<void> {
  for (const p of paths) {
    await mkdir(dirname(join(dest, p)), { recursive: true });
    await cp(join(REPO_ROOT, p), join(dest, p), { recursive: true });
  }
}

/** One spawn of Bazel's JSON execution log (--execution_log_json_file). */
export interface Spawn {
  mnemonic: string;
  runner: string;
  remoteCacheHit: boolean;
  commandArgs: string[];
}

/** Bazel 4 writes the log as JSON objects one after another (`}{` between them). */
export function parseExecLog(text: string): Spawn[] {
  if (text.trim() === '') return [];
  return JSON.parse(`[${text.replace(/\n\}\{\n/g, '\n},{\n')}]`) as Spawn[];
}

/** Flags every build gets: no sandbox (Debian's bazelrc turns on sandbox debugging), no colour. */
export const DEFAULT_BUILD_FLAGS = ['--spawn_strategy=local', '--color=no', '--curses=no', '--show_progress_rate_limit=60'];

export async function bazelWorkspace(opts: BazelWorkspaceOptions): Promise<BazelWorkspace> {
  if (!bazelAvailable()) {
    throw new Error(`${BAZEL} is not installed: apt-get install -y bazel-bootstrap (or set BERTH_TEST_BAZEL)`);
  }
  const tmp = await mkdtemp(join(tmpdir(), 'berth-bazel-'));
  const dir = join(tmp, 'workspace');
  await mkdir(dir);
  await copyFromRepo(dir, opts.copy);
  const write = async (p: string, text: string | Uint8Array) => {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), text);
  };
  for (const [p, text] of Object.entries(opts.files ?? {})) await write(p, text);
  const startup = [`--output_user_root=${join(tmp, 'root')}`, `--output_base=${join(tmp, 'base')}`, '--nohome_rc', '--max_idle_secs=300'];
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !CI_AND_OVERRIDE_VARS.test(k)) baseEnv[k] = v;

  const run = (args: string[], runOpts: { env?: Record<string, string> } = {}) =>
    new Promise<BazelResult>((resolve) => {
      execFile(BAZEL, [...startup, ...args], { cwd: dir, env: { ...baseEnv, ...runOpts.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  return {
    dir,
    tmp,
    write,
    run,
    async build(targets, buildOpts = {}) {
      const r = await run(['build', ...DEFAULT_BUILD_FLAGS, ...(buildOpts.flags ?? []), ...targets], buildOpts.env ? { env: buildOpts.env } : {});
      if (r.code !== 0) throw new Error(`bazel build ${targets.join(' ')} failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-30).join('\n')}`);
      return r;
    },
    read: (path) => readFile(join(dir, path), 'utf8'),
    async close() {
      await run(['shutdown']);
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
