import { expect, test } from '@jest/globals';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth, berthBin } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';

test('an unknown command says so and suggests one, exit 2', async () => {
  const r = await berth(['bild']);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('berth: unknown command "bild"; did you mean build? (see berth --help)\n');
});

test('--help lists every command and exits 0', async () => {
  const r = await berth(['--help']);
  expect(r.code).toBe(0);
  for (const c of ['build', 'inspect', 'base', 'status', 'tags', 'push', 'pull', 'copy']) expect(r.stdout).toMatch(new RegExp(`berth ${c}\\b`));
});

test('--json makes errors JSON on stdout too', async () => {
  const r = await berth(['build', '--base', 'static', '--platform', 'linux/nope', '--output', '/tmp/x.tar', '--json']);
  expect(r.code).toBe(2);
  expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'BAD_PLATFORM', message: expect.stringContaining('unknown architecture "nope"') } });
});

test('bin/berth.js keeps V8 code per command under XDG_CACHE_HOME, and a damaged cache only costs time', async () => {
  const { dir, cleanup } = await tempDir('berth-v8-');
  try {
    const env = { PATH: process.env.PATH, XDG_CACHE_HOME: dir };
    const first = await berthBin(['tags', '--tag', 'v1.2.3', '--json'], { env });
    expect(first.code).toBe(0);
    const files = await readdir(join(dir, 'berth', 'v8'));
    expect(files).toEqual([expect.stringMatching(new RegExp(`^tags-${process.version.replaceAll('.', '\\.')}-${process.arch}-\\d+-[0-9a-f]{32}\\.bin$`))]);
    expect(await berthBin(['tags', '--tag', 'v1.2.3', '--json'], { env })).toEqual(first);
    await writeFile(join(dir, 'berth', 'v8', files[0]!), 'not V8 code');
    expect(await berthBin(['tags', '--tag', 'v1.2.3', '--json'], { env })).toEqual(first);
    // Rejected by V8, so written again.
    expect((await readFile(join(dir, 'berth', 'v8', files[0]!))).toString('latin1')).not.toBe('not V8 code');
    const bad = await berthBin(['tags', '--tag', 'v1+x'], { env });
    expect(bad.code).toBe(2);
  } finally {
    await cleanup();
  }
});

test('berth --version and berth version: berth, node and the platform', async () => {
  const pkg = JSON.parse(await readFile(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
  const want = `berth ${pkg.version}\nnode ${process.version}\nplatform ${process.platform}/${process.arch}\n`;
  for (const argv of [['--version'], ['version']]) {
    const r = await berthBin(argv);
    expect(r).toEqual({ code: 0, stdout: want, stderr: '' });
  }
  expect(JSON.parse((await berth(['version', '--json'])).stdout)).toEqual({ berth: pkg.version, node: process.version, platform: `${process.platform}/${process.arch}` });
});

test('-h on a command with required flags shows its help, not "Missing required arguments"', async () => {
  const r = await berthBin(['build', '-h']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^berth build\n/);
  expect(r.stdout).toContain('  -o, --output');
});

test('a bad choice names the argument and every choice, on one line', async () => {
  const r = await berth(['base', 'distroless', '-o', 'x.tar']);
  expect(r).toEqual({ code: 2, stdout: '', stderr: 'berth: KIND: "distroless" is not one of static\n' });
});

test('berth.yaml: pushRegistry is read as push-registry with a deprecation warning; messages say berth: alone', async () => {
  const { dir, cleanup } = await tempDir('berth-yaml-');
  try {
    await writeFile(join(dir, 'berth.yaml'), 'registry: quay.io/acme\npushRegistry: quay.io/acme-stage\n');
    const r = await berth(['status'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('STABLE_DOCKER_PUSH_REGISTRY quay.io/acme-stage\n');
    expect(r.stderr).toContain('berth: warning: berth.yaml:2: pushRegistry is deprecated; write push-registry\n');
    expect(r.stderr.split('\n').filter(Boolean).every((l) => l.startsWith('berth: '))).toBe(true);
  } finally {
    await cleanup();
  }
});
