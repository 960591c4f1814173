/**
 * Every command line in a fenced `sh` block of README.md and docs/*.md is run here, as a user
 * would type it, or is marked below as needing what this test cannot offer offline (a
 * registry, the network, Docker, Bazel: each with the test that covers it, if one does).
 * Synopses (`<image>`, `[--flag]`, `a|b`, `...`) are not commands and are left out. A line
 * added to the docs and not marked here fails the first test; a line run here must exit 0.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';

type Mark = 'run' | 'run in a git checkout' | { needs: string };

/** How each command line is held. `run`: run below, in the sandbox the docs assume. */
const MARKS: Record<string, Mark> = {
  // README.md
  'berth inspect --attestations REF': { needs: 'a registry holding a signed, attested image; test/sign/provenance.test.ts runs it' },
  'npm ci && npm run demo': { needs: 'the npm registry for npm ci; hack/demo.sh itself is run by test/e2e/demo.test.ts' },
  'hack/install-deps.sh && npm test': { needs: 'apt (Debian mirrors); test/e2e/install-deps.test.ts runs the script, and npm test is this suite' },
  'npm link': 'run',
  'berth --version': 'run',
  'berth inspect oci:dist/demo/release:hello:v0.1.0': 'run',
  'hack/local-registry.sh': { needs: 'a registry: the block is run below, on a free port' },
  'berth copy oci:dist/demo/release:hello:v0.1.0 localhost:5000/berth/hello:v0.1.0': { needs: 'a registry: run below, on a free port' },
  'berth inspect localhost:5000/berth/hello:v0.1.0': { needs: 'a registry: run below, on a free port' },
  'skopeo inspect --tls-verify=false --raw docker://localhost:5000/berth/hello:v0.1.0': { needs: 'a registry: run below, on a free port' },
  "berth release --component 'hello=dist/demo/images/hello-*.tar' --registry localhost:5000/berth --tag v0.1.0 --dry-run": { needs: 'a registry: run below, on a free port' },
  'hack/local-registry.sh stop': { needs: 'a registry: run below, on a free port' },
  'berth inspect --raw oci:dist/release:app:v1': 'run',
  'berth inspect --config --platform linux/arm64 app.tar': 'run',
  'berth copy docker://a.io/app:v1 docker://b.io/app:v1 --src-creds USER --dest-creds USER2:PASS2': { needs: 'the network (two remote registries); test/registry/auth.test.ts copies with --src-creds/--dest-creds locally' },
  'berth copy multi.tar one.tar --platform linux/amd64 --tag quay.io/org/app:v1': 'run',
  'docker load -i one.tar': { needs: 'a Docker daemon: test/folders/load-local.test.ts' },
  'echo "$PASSWORD" | berth login quay.io --username robot --password-stdin': { needs: 'the network (quay.io); test/registry/login.test.ts logs in to a local registry' },
  'berth logout quay.io': 'run',
  'berth version': 'run',
  'bazel build --stamp --define image_type=dynamic //build:server-images': { needs: 'Bazel: test/e2e/bazel/dynamic-release.test.ts builds with --define image_type=dynamic' },
  'bazel run --stamp //build:release -- --dry-run': { needs: 'a registry on localhost:5000 (hack/local-registry.sh); test/e2e/bazel/dynamic-release.test.ts runs it against its own' },
  // docs/bazel.md
  'npm ci && npm run build': { needs: 'the npm registry for npm ci; npm run build runs before every test run' },
  'bazel run --stamp //build:server-images': { needs: 'Bazel: test/e2e/bazel/images.test.ts' },
  'bazel run --stamp //build:server-images -- --output out': { needs: 'Bazel: test/e2e/bazel/images.test.ts (with --output out/images)' },
  'bazel build --stamp //build:server-images': { needs: 'Bazel: test/e2e/bazel/images.test.ts' },
  'bazel build --stamp --output_groups=default,images //build:server-images': { needs: 'Bazel: test/e2e/bazel/images.test.ts' },
  'DOCKER_REGISTRY=quay.io/acme bazel run --config=release //build:release': { needs: 'the network (quay.io)' },
  // docs/tags.md (in this checkout: tags come from git)
  'berth tags': 'run in a git checkout',
  "berth tags --tag '{{ .Version }}' --tag 'sha=v{{ .Date }}-{{ .ShortSHA }}'": 'run in a git checkout',
  'berth tags --semver': 'run in a git checkout',
  'berth tags --labels --json': 'run in a git checkout',
  // docs/dockerfile.md
  'berth build --dockerfile Dockerfile --build-context base=berth:static --output out/server.tar': 'run',
};

/** A line with placeholders or alternatives is a synopsis, not a command. */
const SYNOPSIS = /<[A-Za-z]|\[-|\[--|\.\.\.|…|[^\s|]\|[^\s|]/;

/** The command lines of the `sh` blocks of README.md and docs/*.md: continuations joined, comments cut. */
async function docCommands(): Promise<{ file: string; line: string }[]> {
  const files = ['README.md', ...(await readdir(join(REPO_ROOT, 'docs'))).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const out: { file: string; line: string }[] = [];
  for (const file of files) {
    const text = await readFile(join(REPO_ROOT, file), 'utf8');
    for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
      for (const raw of block[1]!.replace(/\\\n\s*/g, ' ').split('\n')) {
        const line = raw.replace(/\s+#\s.*$/, '').trim();
        if (line === '' || line.startsWith('#') || SYNOPSIS.test(line)) continue;
        out.push({ file, line });
      }
    }
  }
  return out;
}

let dir: string;
let cleanup: () => Promise<void>;
let env: NodeJS.ProcessEnv;

/** Runs one line through bash in `cwd`, with `berth` on the PATH as npm link put it there. */
function sh(line: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { cwd, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-docs-'));
  // npm's global prefix in the sandbox: README's `npm link` puts berth on this PATH.
  env = { PATH: `${join(dir, 'npm', 'bin')}:${process.env.PATH}`, HOME: join(dir, 'home'), npm_config_prefix: join(dir, 'npm'), npm_config_offline: 'true', npm_config_update_notifier: 'false', SOURCE_DATE_EPOCH: '0' };
  await mkdir(join(dir, 'home'));
  const link = await sh('npm link', REPO_ROOT);
  expect({ code: link.code, stderr: link.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  // What the docs' examples name: the demo's output, app.tar, multi.tar, a layout, a Dockerfile.
  await run('bash', ['hack/demo.sh'], { cwd: REPO_ROOT, env: { ...process.env, BERTH_DEMO_OUT: join(dir, 'dist', 'demo') } });
  const berthBin = join(REPO_ROOT, 'bin', 'berth.js');
  for (const file of ['app.tar', 'multi.tar']) await run(process.execPath, [berthBin, 'base', 'static', '-p', 'linux/amd64', '-p', 'linux/arm64', '-t', 'quay.io/org/app:v1', '-o', file], { cwd: dir });
  await run(process.execPath, [berthBin, 'copy', 'app.tar', 'oci:dist/release:app:v1'], { cwd: dir });
  await writeFile(join(dir, 'Dockerfile'), 'FROM base\nCOPY --chown=nonroot:nonroot server /home/nonroot/server\nENTRYPOINT ["/home/nonroot/server"]\n');
  await writeFile(join(dir, 'server'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await symlink(join(REPO_ROOT, 'hack'), join(dir, 'hack'));
}, 120_000);
afterAll(async () => cleanup?.());

test('every command line of a docs sh block is run here or marked with what it needs', async () => {
  const unmarked = (await docCommands()).filter((c) => MARKS[c.line] === undefined).map((c) => `${c.file}: ${c.line}`);
  expect(unmarked).toEqual([]);
  // And every mark is still a line of the docs.
  const lines = new Set((await docCommands()).map((c) => c.line));
  expect(Object.keys(MARKS).filter((l) => !lines.has(l))).toEqual([]);
});

describe('the lines that run offline', () => {
  test.each(Object.entries(MARKS).filter(([, m]) => typeof m === 'string').filter(([l]) => l !== 'npm link'))('%s', async (line, mark) => {
    const r = await sh(line, mark === 'run' ? dir : REPO_ROOT);
    expect({ code: r.code, stderr: r.stderr.split('\n').filter((l) => l.startsWith('berth: ') && !/^berth: (built|copied|note|loaded|logged|not logged|removed|warning)/.test(l)) }).toEqual({ code: 0, stderr: [] });
  });

  test('what they print is what they say', async () => {
    expect((await sh('berth --version', dir)).stdout).toMatch(/^berth \d+\.\d+\.\d+\n/);
    expect(JSON.parse((await sh('berth inspect --config --platform linux/arm64 app.tar', dir)).stdout).architecture).toBe('arm64');
    expect(JSON.parse((await sh('berth inspect --raw oci:dist/release:app:v1', dir)).stdout).mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect((await sh('berth inspect oci:dist/demo/release:hello:v0.1.0', dir)).stdout).toContain('platforms  linux/amd64, linux/arm/v7, linux/arm64\n');
    await sh('berth copy multi.tar one.tar --platform linux/amd64 --tag quay.io/org/app:v1', dir);
    expect(JSON.parse(await run('tar', ['-xOf', join(dir, 'one.tar'), 'manifest.json']))[0].RepoTags).toEqual(['quay.io/org/app:v1']);
    // Two tags, each its own line (unquoted, the shell split the template into five words).
    expect((await sh("berth tags --tag '{{ .Version }}' --tag 'sha=v{{ .Date }}-{{ .ShortSHA }}'", REPO_ROOT)).stdout).toMatch(/^\S+\nv\d{8}-[0-9a-f]{8}\n$/);
  });
});

test('README\'s "Try it against a registry" block, as written but on a free port', async () => {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Try it against a registry'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const port = await freePort();
  const script = block.replaceAll('localhost:5000', `localhost:${port}`).replace(/^hack\/local-registry\.sh$/m, `hack/local-registry.sh ${port}`);
  expect(script).toContain(`hack/local-registry.sh ${port}\n`);
  // A failed line stops the script, and the registry still stops.
  const r = await sh(`set -e\ntrap 'hack/local-registry.sh stop 2>/dev/null || true' ERR\n${script}`, dir);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('local-registry: stopped') });
  // The index berth pushed is the one the demo released, as skopeo read it from the registry.
  const raw = await run('skopeo', ['inspect', '--raw', `oci:${join(dir, 'dist', 'demo', 'release')}:hello:v0.1.0`]);
  expect(r.stdout).toContain(raw);
  // The dry run finds it all there.
  expect(r.stdout + r.stderr).toMatch(/index sha256:[0-9a-f]{12} \(there\), tag v0\.1\.0 \(already on it\)/);
}, 120_000);

test("README's build example adds a file that is there (the demo's hello program), not bin/controller-arm64", async () => {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const sources = [...readme.matchAll(/--file ([\w.-]+\/[\w./-]+):/g)].map((m) => m[1]!);
  expect(sources.length).toBeGreaterThan(0);
  for (const source of sources) expect({ source, there: await readFile(join(REPO_ROOT, source)).then(() => true, () => false) }).toEqual({ source, there: true });
});

test('every `npx jest` the docs show runs with --experimental-vm-modules (the tests are ES modules)', async () => {
  const files = ['README.md', ...(await readdir(join(REPO_ROOT, 'docs'))).map((f) => `docs/${f}`)];
  for (const file of files) {
    for (const m of (await readFile(join(REPO_ROOT, file), 'utf8')).matchAll(/[^`\n]*npx jest[^`\n]*/g)) {
      expect({ file, line: m[0], vmModules: m[0].includes('NODE_OPTIONS=--experimental-vm-modules') }).toEqual({ file, line: m[0], vmModules: true });
    }
  }
});

test('the docs stand alone: no path outside the repository, no design page it does not hold', async () => {
  const files = ['README.md', ...(await readdir(join(REPO_ROOT, 'docs'))).map((f) => `docs/${f}`)];
  for (const file of files) {
    const text = await readFile(join(REPO_ROOT, file), 'utf8');
    expect({ file, outside: text.match(/\/work\/|\.\.\/shared|DESIGN\.md/g) ?? [] }).toEqual({ file, outside: [] });
  }
});
