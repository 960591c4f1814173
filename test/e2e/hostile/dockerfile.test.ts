/**
 * Hostile Dockerfiles and contexts (issue 20 item 6, for the classes of issue 19): each case
 * runs the built `berth build --dockerfile` on a small context in a temp folder, FROM scratch
 * (no network), and asserts the exit code, the one stderr line naming the problem, a generous
 * time bound, and that nothing was written or left beside the -o output.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tools.js';
import { listTree, runBerth, type HostileRun } from './helpers.js';

// The figures were "for ever" and 16 s; the bound leaves room for a busy CI machine.
const BOUND_MS = 10_000;

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-hostile-dockerfile-'));
});
afterAll(() => cleanup());

interface Case {
  ctx: string;
  out: string;
  outDir: string;
  before: string[];
  r: HostileRun;
}

/** Lays out DIR/ctx with `files` (a null value: a FIFO), runs `berth build` on it, keeps what a user checks. */
async function build(name: string, files: Record<string, string | null>, extra: string[] = [], opts: { dockerfile?: string } = {}): Promise<Case> {
  const dir = join(root, name);
  const ctx = join(dir, 'ctx');
  const outDir = join(dir, 'out');
  await mkdir(ctx, { recursive: true });
  await mkdir(outDir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    const p = join(ctx, rel);
    await mkdir(join(p, '..'), { recursive: true });
    if (text === null) execFileSync('mkfifo', [p]);
    else await writeFile(p, text);
  }
  const before = await listTree(ctx);
  const out = join(outDir, 'image.tar');
  const dockerfile = opts.dockerfile ?? join(ctx, 'Dockerfile');
  const started = Date.now();
  const r = await runBerth(['build', '--dockerfile', dockerfile, '--context', ctx, '-o', out, ...extra], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, '.cache-outside') },
    killAfterMs: 30_000,
  });
  r.ms = Date.now() - started;
  return { ctx, out, outDir, before, r };
}

/** Exit 2, one line naming the problem, bounded, nothing written or left, the context untouched. */
async function expectRefused(c: Case, why: RegExp): Promise<void> {
  expect(c.r.signal).toBeNull();
  expect(c.r.code).toBe(2);
  expect(c.r.lines).toHaveLength(1);
  expect(c.r.lines[0]).toMatch(/^berth: /);
  expect(c.r.lines[0]).toMatch(why);
  expect(c.r.lines[0]).not.toMatch(/internal error|\n\s+at /);
  expect(c.r.ms).toBeLessThan(BOUND_MS);
  expect(existsSync(c.out)).toBe(false);
  expect(await listTree(c.outDir)).toEqual([]); // no .berth-work-*, no .tmp-*
  expect(await listTree(c.ctx)).toEqual(c.before);
}

/** Exit 0 within the bound, one "built" line, only the output beside it. */
async function expectBuilt(c: Case): Promise<void> {
  expect(c.r.signal).toBeNull();
  expect(c.r.code).toBe(0);
  expect(c.r.lines.filter((l) => /^berth: built /.test(l))).toHaveLength(1);
  expect(c.r.ms).toBeLessThan(BOUND_MS);
  expect(await listTree(c.outDir)).toEqual(['image.tar']);
}

function indexOf(out: string): { manifests: { digest: string; platform?: { os: string; architecture: string } }[] } {
  return JSON.parse(execFileSync('tar', ['-xOf', out, 'index.json']).toString());
}

// The inputs of test/dockerfile/glob.test.ts: `*a` x18 then `b`, against a name of a's.
const BACKTRACK_GLOB = `${'*a'.repeat(18)}b`;
const BACKTRACK_IGNORE = `${'**/a*'.repeat(6)}b`;

describe('berth build --dockerfile on hostile inputs', () => {
  test('a backtracking COPY glob against a 250-byte name of a\'s: quick, exit 2 (nothing matches)', async () => {
    const c = await build('glob', { Dockerfile: `FROM scratch\nCOPY ${BACKTRACK_GLOB} /x\n`, ['a'.repeat(250)]: 'a\n' });
    await expectRefused(c, /Dockerfile:2: COPY: no file in the build context matches/);
  });

  test('a backtracking .dockerignore pattern against a path of 300 nested a/ folders: quick, exit 0', async () => {
    const deep = `${'a/'.repeat(300)}a`;
    const c = await build('ignore', { Dockerfile: 'FROM scratch\nCOPY . /x\n', '.dockerignore': `${BACKTRACK_IGNORE}\n`, [deep]: 'a\n' });
    await expectBuilt(c);
    // The pattern ends in `b`: it matches nothing, so the deep file is in the layer.
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', c.out, `blobs/sha256/${indexOf(c.out).manifests[0].digest.slice(7)}`]).toString()) as { layers: { digest: string }[] };
    const layer = execFileSync('sh', ['-c', `tar -xOf "$0" "blobs/sha256/$1" | tar -tzf -`, c.out, manifest.layers[0].digest.slice(7)], { maxBuffer: 1 << 24 }).toString();
    expect(layer).toContain(`x/${deep}`);
  });

  test('10,000 LABEL lines: exit 0 within the bound (not quadratic)', async () => {
    let df = 'FROM scratch\n';
    for (let i = 0; i < 10_000; i++) df += `LABEL l${i}=v${i}\n`;
    const c = await build('labels', { Dockerfile: df });
    await expectBuilt(c);
  });

  test('${a:-${a:-...}} nested 10,000 deep: exit 2, "nested more than N deep"', async () => {
    const c = await build('nested', { Dockerfile: `FROM scratch\nENV x=${'${a:-'.repeat(10_000)}b${'}'.repeat(10_000)}\n` });
    await expectRefused(c, /Dockerfile:2: ENV: \$\{\.\.\.\} nested more than \d+ deep/);
  });

  test('an ENV chain that doubles each line: exit 2, "expand to more than 1 MiB"', async () => {
    let df = 'FROM scratch\nENV a0=xxxxxxxxxxxxxxxx\n';
    for (let i = 1; i < 64; i++) df += `ENV a${i}=\${a${i - 1}}\${a${i - 1}}\n`;
    const c = await build('doubling', { Dockerfile: df });
    await expectRefused(c, /Dockerfile:\d+: ENV: variables expand to more than 1 MiB/);
  });

  test('COPY [z-a] /x: exit 2, the range runs backwards', async () => {
    const c = await build('range', { Dockerfile: 'FROM scratch\nCOPY [z-a] /x\n', z: 'z\n' });
    await expectRefused(c, /Dockerfile:2: COPY: syntax error in pattern "\[z-a\]": the range z-a runs backwards/);
  });

  test('COPY --chown=99999999999: exit 2, the user ID is out of range', async () => {
    const c = await build('chown', { Dockerfile: 'FROM scratch\nCOPY --chown=99999999999 f /x\n', f: 'f\n' });
    await expectRefused(c, /Dockerfile:2: COPY: --chown=99999999999: user ID 99999999999 is out of range/);
  });

  test('a FIFO as --dockerfile: exit 2 at once, no hang', async () => {
    const c = await build('fifo-dockerfile', { Dockerfile: null });
    await expectRefused(c, /--dockerfile \S+Dockerfile: not a regular file/);
  });

  test('a FIFO as .dockerignore: exit 2 at once, no hang', async () => {
    const c = await build('fifo-ignore', { Dockerfile: 'FROM scratch\nCOPY . /x\n', f: 'f\n', '.dockerignore': null });
    await expectRefused(c, /\.dockerignore: not a regular file/);
  });

  test('the same --platform twice: built once, exit 0, an index with one entry', async () => {
    const c = await build('platform-twice', { Dockerfile: 'FROM scratch\nCOPY f /x\n', f: 'f\n' }, ['--platform', 'linux/amd64', '--platform', 'linux/amd64']);
    await expectBuilt(c);
    const index = indexOf(c.out);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].platform).toMatchObject({ os: 'linux', architecture: 'amd64' });
  });

  describe('ADD of a URL with user:pass@ and no --checksum', () => {
    let server: Server;
    let port: number;
    let requests = 0;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        requests++;
        res.end('x');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('exit 2 naming --checksum, nothing fetched, the password never printed', async () => {
      const password = 'hunter2-s3cret';
      const c = await build('add-url', { Dockerfile: `FROM scratch\nADD http://user:${password}@127.0.0.1:${port}/x /x\n` });
      await expectRefused(c, /Dockerfile:2: ADD: .*needs --checksum/);
      expect(c.r.stderr).not.toContain(password);
      expect(c.r.stdout).not.toContain(password);
      expect(requests).toBe(0);
      expect(await readFile(join(c.ctx, 'Dockerfile'), 'utf8')).toContain(password); // the input itself is untouched
    });
  });
});
