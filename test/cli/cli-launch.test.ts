/**
 * Every way berth is launched gives the same answer to the same command line (issue 22 item
 * 7; docs/architecture.md, "Which code runs for `berth X`"). One table of command lines, run
 * through each entry point: stdout, stderr, exit code and the file written must be equal.
 * Needs `npm run build` (the bundles and dist/).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth, REPO_ROOT, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';

interface Outcome extends CliResult {
  /** sha256 of out.tar when the command wrote it. */
  written?: string;
}

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let env: NodeJS.ProcessEnv = {};
/** A copy of bin/berth.js whose dist/lean holds stale bundles (another build stamp). */
let staleBin = '';

function node(args: string[], cwd = dir): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The entry points, each as a function of berth's argv; undefined when that entry does not
 * take this command line. The lean status bundle and the workspace status script are internal
 * entries of `berth status`: they take only its flags, without the command name.
 */
const ENTRIES: Record<string, (argv: string[]) => Promise<CliResult> | undefined> = {
  'bin/berth.js (bundles)': (argv) => node([join(REPO_ROOT, 'bin/berth.js'), ...argv]),
  'bin/berth.js (stale bundles: dist/cli/bin.js)': (argv) => node([staleBin, ...argv]),
  'node dist/lean/berth.cjs (Bazel actions)': (argv) => node([join(REPO_ROOT, 'dist/lean/berth.cjs'), ...argv]),
  'node dist/lean/push.cjs': (argv) => node([join(REPO_ROOT, 'dist/lean/push.cjs'), ...argv]),
  'main() in-process': async (argv) => {
    const tty = process.stdout.isTTY;
    process.stdout.isTTY = false; // help is 80 columns wide, as in a pipe
    try {
      return await berth(argv, { cwd: dir, env });
    } finally {
      process.stdout.isTTY = tty;
    }
  },
  'node dist/lean/status.cjs': (argv) => (argv[0] === 'status' && argv.slice(1).every((a) => a.startsWith('--config=')) ? node([join(REPO_ROOT, 'dist/lean/status.cjs'), ...argv.slice(1)]) : undefined),
  'hack/build/print-workspace-status.sh': (argv) =>
    argv.length === 1 && argv[0] === 'status'
      ? new Promise((resolve) => {
          execFile('bash', [join(REPO_ROOT, 'hack/build/print-workspace-status.sh')], { cwd: dir, env }, (err, stdout, stderr) => {
            resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
          });
        })
      : undefined,
};

const ARGVS: string[][] = [
  [],
  ['--help'],
  ['--version'],
  ['version'],
  ['push', '--help'],
  ['status'],
  ['status', '--config=berth.yaml'],
  ['status', '--config=bad.yaml'],
  ['status', '--bogus'],
  ['--verison'],
  ['bild'],
  ['push', 'missing.tar', '127.0.0.1:9/x:1'],
  ['push', 'missing.tar', '127.0.0.1:9/x:1', '--bogus'],
  ['build', '--dockerfile', 'ctx/Dockerfile', '--context', 'ctx', '-o', 'out.tar'],
  ['build', '--dockerfile', 'ctx/Dockerfile', '--context', 'ctx', '-o', 'out.tar', '--json'],
];

beforeAll(async () => {
  for (const f of ['dist/lean/berth.cjs', 'dist/lean/push.cjs', 'dist/lean/status.cjs', 'dist/lean/build-stamp', 'dist/cli/bin.js']) {
    if (!existsSync(join(REPO_ROOT, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  ({ dir, cleanup } = await tempDir('berth-launch-'));
  env = { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '0', LC_ALL: 'C' };
  await writeFile(join(dir, 'berth.yaml'), 'registry: registry.example/team\n');
  await writeFile(join(dir, 'bad.yaml'), 'registry: [\n');
  await mkdir(join(dir, 'ctx'));
  await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\nENV A=1\n');
  await writeFile(join(dir, 'ctx', 'a.txt'), 'hello\n');
  // bin/berth.js beside bundles of another build: it must run dist/ (here, the real one).
  const stale = join(dir, 'stale');
  await mkdir(join(stale, 'bin'), { recursive: true });
  await mkdir(join(stale, 'dist', 'lean'), { recursive: true });
  await copyFile(join(REPO_ROOT, 'bin/berth.js'), join(stale, 'bin/berth.js'));
  await symlink(join(REPO_ROOT, 'dist/cli'), join(stale, 'dist/cli'));
  const fake = 'module.exports = { run: async () => { process.stdout.write("stale bundle\\n"); process.exitCode = 3; }, removeScratchOnSignals() {}, processIO() {}, runLeanPush: async () => 3 };\n';
  await writeFile(join(stale, 'dist/lean/berth.cjs'), fake);
  await writeFile(join(stale, 'dist/lean/push.cjs'), fake);
  await writeFile(join(stale, 'dist/lean/build-stamp'), '0123456789abcdef0123456789abcdef\n');
  staleBin = join(stale, 'bin/berth.js');
});

afterAll(async () => {
  await cleanup();
});

async function outcome(r: CliResult): Promise<Outcome> {
  const out = join(dir, 'out.tar');
  if (!existsSync(out)) return r;
  const written = createHash('sha256').update(await readFile(out)).digest('hex');
  await rm(out);
  return { ...r, written };
}

test.each(ARGVS.map((a) => [a.join(' ') || '(nothing)', a] as const))('berth %s: the same stdout, stderr, exit code and file through every entry point', async (_name, argv) => {
  const got: Record<string, Outcome> = {};
  for (const [name, run] of Object.entries(ENTRIES)) {
    const r = run(argv);
    if (r) got[name] = await outcome(await r);
  }
  const reference = got['bin/berth.js (bundles)']!;
  expect(Object.keys(got).length).toBeGreaterThanOrEqual(5);
  expect(got).toEqual(Object.fromEntries(Object.keys(got).map((k) => [k, reference])));
});

test('the table checks something: a failing command, and the help and the build really ran', async () => {
  // Guard against a table that compares empty answers.
  const ref = ENTRIES['bin/berth.js (bundles)']!;
  expect((await ref(['--help']))!.stdout).toContain('berth <command> [options]');
  expect((await ref(['--verison']))!.code).toBe(2);
  const built = await outcome((await ref(['build', '--dockerfile', 'ctx/Dockerfile', '--context', 'ctx', '-o', 'out.tar']))!);
  expect(built).toMatchObject({ code: 0, written: expect.stringMatching(/^[0-9a-f]{64}$/) });
});

test('bundles run only with the build stamp of dist/: the same stamp, and the fake stale bundle runs', async () => {
  const stamp = await readFile(join(REPO_ROOT, 'dist/lean/build-stamp'), 'utf8');
  const stampFile = join(dir, 'stale', 'dist/lean/build-stamp');
  const before = await readFile(stampFile, 'utf8');
  try {
    await writeFile(stampFile, stamp);
    expect(await node([staleBin, '--version'])).toEqual({ code: 3, stdout: 'stale bundle\n', stderr: '' });
    expect(await node([staleBin, 'push', 'a.tar', 'localhost:1/x'])).toEqual({ code: 3, stdout: '', stderr: '' });
    // No stamp (a build that failed part-way): dist/.
    await rm(stampFile);
    expect((await node([staleBin, '--version'])).stdout).toMatch(/^berth /);
  } finally {
    await writeFile(stampFile, before);
  }
});
