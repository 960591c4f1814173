/**
 * Argument mistakes in berth's voice, not yargs': one line, exit 2, the flag's full spelling,
 * a did-you-mean, the positional arguments by name, and a pointer for the habits docker,
 * buildx, crane and skopeo users bring. And the choices berth checks before doing anything:
 * --into, a named --config.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth, berthBin } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-voice-'));
  expect((await berth(['base', 'static', '-p', 'linux/amd64', '-t', 'example.test/app:v1', '-o', 'app.tar'], { cwd: dir })).code).toBe(0);
});
afterAll(async () => cleanup?.());

const cases: [string, string[], string][] = [
  ["a mistyped flag of berth's own", ['--verison'], 'unknown flag --verison; did you mean --version? (name a command first; see berth --help)'],
  ['a mistyped flag: did you mean', ['build', '--bse', 'static', '-o', 'x.tar'], 'unknown flag --bse; did you mean --base? (see berth build --help)'],
  ['a required flag by its full spelling and short form', ['build', '--base', 'static'], '--output/-o: required (see berth build --help)'],
  ['a missing positional by name', ['push', 'app.tar'], 'missing TARGET: berth push SOURCE TARGET (see berth push --help)'],
  ['both missing', ['copy'], 'missing SOURCE and DESTINATION: berth copy SOURCE DESTINATION (see berth copy --help)'],
  ['one too many', ['push', 'app.tar', 'localhost:5000/x', 'extra'], 'unexpected argument "extra": berth push SOURCE TARGET takes 2 (see berth push --help)'],
  ['a positional where none is taken', ['tags', '--semver', 'extra'], 'unexpected argument "extra": berth tags takes none (see berth tags --help)'],
  ['a positional choice, with did you mean', ['images', 'biuld'], 'ACTION: "biuld" is not one of list, build, push, load; did you mean build?'],
  ['a number flag with no value (its default was used)', ['push', 'app.tar', 'localhost:5000/x', '--jobs'], '--jobs: needs a value (see berth push --help)'],
  ['a flag of one value with none, by its full spelling', ['sign', 'localhost:5000/x:1', '-a'], '--annotation/-a: needs a value (see berth sign --help)'],
  ["buildx's --platform a,b", ['build', '--base', 'static', '--platform', 'linux/amd64,linux/arm64', '-o', 'x.tar'], '--platform: "linux/amd64,linux/arm64" is several platforms: give one per flag (--platform linux/amd64 --platform linux/arm64), not buildx\'s comma list'],
  ["docker build's -f (before the missing --output it also causes)", ['build', '-f', 'Dockerfile', '.'], "unknown flag -f: docker build's -f is --dockerfile FILE here (with --context DIR, default the Dockerfile's folder)"],
  ["docker build's context as a positional", ['build', '--dockerfile', 'Dockerfile', '.', '-o', 'x.tar'], 'unexpected argument ".": docker build\'s context is --context DIR here (default: the Dockerfile\'s folder) (see berth build --help)'],
  ["crane's --insecure", ['push', 'app.tar', 'reg.example:5000/x', '--insecure'], "unknown flag --insecure: crane's --insecure is --insecure-registry HOST[:PORT] here (plain HTTP for that host; localhost needs none)"],
  ["skopeo's --tls-verify=false", ['inspect', '--tls-verify=false', 'reg.example:5000/x'], "unknown flag --tls-verify: skopeo's --tls-verify=false is --insecure-registry HOST[:PORT] here (plain HTTP for that host; localhost needs none)"],
  ["docker login's -p", ['login', 'quay.io', '-u', 'robot', '-p', 'secret'], 'unknown flag -p: the password is read from stdin only, never from the command line: echo "$PASSWORD" | berth login HOST -u USER --password-stdin'],
  ["docker's inspect alpine", ['inspect', 'alpine'], '{dir}/alpine: no such file; for the registry image, write docker://alpine'],
  ["docker's --base nginx:latest", ['build', '--base', 'nginx:latest', '-o', 'x.tar'], '{dir}/nginx:latest: no such file; for the registry image, write docker://nginx:latest'],
  ['two tags in one name', ['build', '--base', 'static', '-t', 'app:v1:extra', '-o', 'x.tar'], '--tag: "app:v1:extra" is not a valid image reference: it has more than one tag (a name takes one :TAG; "app:v1:extra")'],
  ["gzip's --fast as a level", ['build', '--base', 'static', '--compression-level', 'fast', '-o', 'x.tar'], '--compression-level: "fast" is not a number (a gzip level 0-9: gzip --fast is 1, --best 9)'],
  ['a non-number for a number flag', ['push', 'app.tar', 'localhost:5000/x', '--timeout=soon'], '--timeout: "soon" is not a number'],
  ['--into a typo of an engine', ['load', 'app.tar', '--into', 'dokcer'], '--into "dokcer": give docker, podman, a FILE.tar, oci:DIR[:NAME], or a path with a / (./dokcer); did you mean docker?'],
  ['images load --into a typo', ['images', 'load', 'app', '--into', 'podmn'], '--into "podmn": give docker, podman, a FILE.tar, oci:DIR[:NAME], or a path with a / (./podmn); did you mean podman?'],
  ['a named --config that is not there: status', ['status', '--config', 'typo.yaml'], '--config typo.yaml: no such file ({dir}/typo.yaml)'],
  ['a named --config that is not there: tags', ['tags', '--config', 'typo.yaml'], '--config typo.yaml: no such file ({dir}/typo.yaml)'],
  ['a named --config that is not there: sign', ['sign', 'localhost:5000/x:1', '--config', 'typo.yaml'], '--config typo.yaml: no such file ({dir}/typo.yaml)'],
  ['a named --config that is not there: release', ['release', '--config', 'typo.yaml'], '--config typo.yaml: no such file ({dir}/typo.yaml)'],
];

describe.each(cases)('%s', (_what, argv, line) => {
  test('one line in berth\'s voice, exit 2, nothing written', async () => {
    const before = (await readdir(dir)).sort();
    const r = await berth(argv, { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
    expect(r).toEqual({ code: 2, stdout: '', stderr: `berth: ${line.replaceAll('{dir}', dir)}\n` });
    expect((await readdir(dir)).sort()).toEqual(before);
  });
});

test('no yargs wording is left in any of those lines', () => {
  for (const [, , line] of cases) expect(line).not.toMatch(/Unknown argument|Missing required|Not enough non-option|Invalid values/);
});

test('--into with a / or .tar, and the default ./berth.yaml being absent, are still fine', async () => {
  expect((await berthBin(['load', 'app.tar', '--into', './loaded'], { cwd: dir })).code).toBe(0);
  expect((await berthBin(['load', 'app.tar', '--into', 'loaded.tar'], { cwd: dir })).code).toBe(0);
  const status = await berth(['status'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
  expect(status.code).toBe(0);
  await writeFile(join(dir, 'other.yaml'), 'registry: quay.io/acme\n');
  const named = await berth(['status', '--config', 'other.yaml'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
  expect(named.stdout).toContain('STABLE_DOCKER_REGISTRY quay.io/acme\n');
});

test("berth index --help says what --tag sets: ref.name, not RepoTags (which stays empty)", async () => {
  const help = (await berthBin(['index', '--help'])).stdout.replace(/\s+/g, ' ');
  expect(help).toContain('RepoTags stays empty');
  expect(help).not.toContain('(RepoTags, ref.name)');
  expect((await berth(['base', 'static', '-p', 'linux/arm64', '-o', 'arm.tar'], { cwd: dir })).code).toBe(0);
  expect((await berth(['index', '--image', 'app.tar', '--image', 'arm.tar', '-t', 'example.test/idx:v1', '-o', 'idx.tar'], { cwd: dir })).code).toBe(0);
  const { run } = await import('../helpers/tools.js');
  expect(JSON.parse(await run('tar', ['-xOf', join(dir, 'idx.tar'), 'manifest.json'])).map((m: { RepoTags: string[] }) => m.RepoTags)).toEqual([[], []]);
});

test('the docs write the template of an environment variable as berth takes it: {{ .Env "X" }}', async () => {
  const { readFile, readdir: list } = await import('node:fs/promises');
  const { REPO_ROOT } = await import('../helpers/paths.js');
  for (const f of ['README.md', ...(await list(join(REPO_ROOT, 'docs'))).map((d) => `docs/${d}`)]) {
    expect({ f, refused: /\{\{\s*\.Env\.\w/.test(await readFile(join(REPO_ROOT, f), 'utf8')) }).toEqual({ f, refused: false });
  }
  const env = { PATH: process.env.PATH, HOME: dir, X: 'from-env' };
  expect((await berth(['tags', '-t', '{{ .Env "X" }}'], { cwd: dir, env })).stdout).toBe('from-env\n');
  expect((await berth(['tags', '-t', '{{ .Env.X }}'], { cwd: dir, env })).code).toBe(2);
});
