import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { testEnv } from '../registry/fixtures.js';
import { archTarball, PLATFORMS } from '../release/fixtures.js';
import { getManifest, ok, sigTag } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
let key: string;
let components: string[];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-sign-release-'));
  reg = await startRegistry();
  env = testEnv(dir, { COSIGN_PASSWORD: 'pw' });
  key = join(dir, 'release');
  await ok(['keygen', '--output-key-prefix', key], env);
  // Two components, two platforms each.
  const two = PLATFORMS.slice(0, 2);
  await Promise.all(['controller', 'webhook'].flatMap((c) => two.map((p) => archTarball(dir, c, p))));
  components = ['controller', 'webhook'].map((c) => `${c}=${join(dir, `${c}-*.tar`)}`);
});
afterAll(async () => {
  await reg.stop();
  await cleanup();
});

const flags = (registry: string, tag: string) => [...components.flatMap((c) => ['--component', c]), '--registry', registry, '--tag', tag];

describe('berth release --sign', () => {
  test('--dry-run shows signing as the last step of each repository', async () => {
    const r = await ok(['release', ...flags(`${reg.host}/dry`, 'v1'), '--sign', '--recursive', '--key', `${key}.key`, '--dry-run', '--json'], env);
    const plan = JSON.parse(r.stdout);
    for (const c of plan.components) {
      const steps = c.targets[0].steps;
      expect(steps.at(-2)).toMatchObject({ kind: 'tag', tag: 'v1' });
      expect(steps.at(-1)).toEqual({ kind: 'sign', digest: c.index.digest, signers: [`${key}.key`], recursive: true });
    }
    expect(r.stderr).toMatch(/-> .*\/dry\/controller: .*tag v1, sign \(.*release\.key, and each image\)/);
    expect((await getManifest(reg.host, 'dry/controller', 'v1')).status).toBe(404);
  });

  test('signs every index and, with --recursive, every per-arch image, after the tags; berth verify accepts each', async () => {
    const r = await ok(['release', ...flags(`${reg.host}/signed`, 'v1.0.0'), '--sign', '--recursive', '--key', `${key}.key`, '--json'], env);
    const result = JSON.parse(r.stdout) as { components: { name: string; digest: string; platforms: { digest: string }[]; signatures: { reference: string; added: string[] }[] }[] };
    for (const c of result.components) {
      const repo = `${reg.host}/signed/${c.name}`;
      expect(c.signatures.map((s) => s.reference).sort()).toEqual([c.digest, ...c.platforms.map((p) => p.digest)].map((d) => `${repo}@${d}`).sort());
      expect(c.signatures.every((s) => s.added.length === 1)).toBe(true);
      const v = JSON.parse((await ok(['verify', '--key', `${key}.pub`, `${repo}:v1.0.0`, '--json'], env)).stdout);
      expect(v.digest).toBe(c.digest);
      for (const p of c.platforms) await ok(['verify', '--key', `${key}.pub`, `${repo}@${p.digest}`], env);
    }
    expect(r.stderr).toContain(`berth: signed ${reg.host}/signed/controller@`);
    // A re-run publishes nothing new and adds no second signature by the same key.
    const again = JSON.parse((await ok(['release', ...flags(`${reg.host}/signed`, 'v1.0.0'), '--sign', '--key', `${key}.key`, '--json'], env)).stdout);
    for (const c of again.components) {
      expect(c.signatures).toHaveLength(1);
      expect(c.signatures[0].added).toEqual([]);
      const m = JSON.parse((await getManifest(reg.host, `signed/${c.name}`, sigTag(c.digest))).raw.toString('utf8'));
      expect(m.layers).toHaveLength(1);
    }
  });

  test("berth.yaml's signers: none in a pull-request build, the enabled one in a postsubmit", async () => {
    const cwd = join(dir, 'project');
    await mkdir(cwd, { recursive: true });
    await writeFile(
      join(cwd, 'berth.yaml'),
      ['signing:', '  enabled-signers:', '    acme/widgets: [acme]', '  signers:', '    - name: acme', '      type: cosign-key', '      key-env: ACME_KEY', '      password-env: ACME_PASSWORD', '      job-type: [postsubmit]', ''].join('\n'),
    );
    const keyEnv = { ...env, ACME_KEY: await readFile(`${key}.key`, 'utf8'), ACME_PASSWORD: 'pw', COSIGN_PASSWORD: undefined, REPO_OWNER: 'acme', REPO_NAME: 'widgets' };
    const pr = await berth(['release', ...flags(`${reg.host}/pr`, 'pr-7'), '--sign', '--json'], { env: { ...keyEnv, JOB_TYPE: 'presubmit', PULL_NUMBER: '7' }, cwd });
    expect(pr.code).toBe(0);
    expect(pr.stderr).toContain('berth: not signing: pull-request builds are not signed');
    const prDigest = JSON.parse(pr.stdout).components[0].digest;
    expect((await getManifest(reg.host, 'pr/controller', sigTag(prDigest))).status).toBe(404);

    const post = await ok(['release', ...flags(`${reg.host}/post`, 'main'), '--sign', '--json'], { ...keyEnv, JOB_TYPE: 'postsubmit', PULL_BASE_REF: 'main' }, cwd);
    const c = JSON.parse(post.stdout).components[0];
    expect(c.signatures[0].added).toEqual(['acme']);
    await ok(['verify', '--key', `${key}.pub`, `${reg.host}/post/controller:main`], env);

    // Sign-only mode with the same configuration, for images published earlier (several at once).
    const s = await ok(['sign', `${reg.host}/pr/controller:pr-7`, `${reg.host}/pr/webhook:pr-7`], { ...keyEnv, JOB_TYPE: 'postsubmit', PULL_BASE_REF: 'main' }, cwd);
    expect(s.stderr).toContain('signed by acme');
    await ok(['verify', '--key', `${key}.pub`, `${reg.host}/pr/webhook:pr-7`], env);
    // Another repository has no signer enabled: nothing to sign with, said in one line.
    const other = await berth(['sign', `${reg.host}/pr/controller:pr-7`, '--repo', 'someone/else'], { env: { ...keyEnv, JOB_TYPE: 'postsubmit' }, cwd });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('berth: nothing to sign with: berth.yaml lists signers acme (cosign-key), but signing.enabled-signers enables none for someone/else (it enables acme/widgets: [acme]); or pass --key cosign.key\n');
  });

  test('refused before anything is pushed: a wrong password, or --sign into a local layout', async () => {
    const bad = await berth(['release', ...flags(`${reg.host}/never`, 'v1'), '--sign', '--key', `${key}.key`], { env: { ...env, COSIGN_PASSWORD: 'wrong' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/release\.key: cannot decrypt the key: wrong password \(COSIGN_PASSWORD\)\n$/);
    expect((await getManifest(reg.host, 'never/controller', 'v1')).status).toBe(404);
    const layout = await berth(['release', ...components.flatMap((c) => ['--component', c]), '--to', `oci:${join(dir, 'layout')}`, '--sign', '--key', `${key}.key`], { env });
    expect(layout.code).toBe(2);
    expect(layout.stderr).toContain('--sign: signatures and attestations are stored in a registry');
  });
});
