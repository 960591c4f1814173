import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { dockerConfig, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';
import { RegistryClient } from '../../src/registry/client.js';
import { staticBase, testEnv } from './fixtures.js';

const USER = 'alice';
const PASSWORD = 'pw-Zq81!x_never-printed';

let dir: string;
let cleanup: () => Promise<void>;
let image: string;
let imageDigest: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-auth-'));
  image = join(dir, 'base.tar');
  imageDigest = await staticBase(image);
});
afterAll(async () => cleanup());

/** Nothing a user sees may hold the password, its Basic encoding, or a token. */
function expectNoSecrets(text: string, tokens: string[] = []): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
  for (const t of tokens) expect(text).not.toContain(t.split('.')[2]!);
}

describe('htpasswd basic auth', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { htpasswd: { user: USER, password: PASSWORD } } });
  });
  afterAll(async () => reg.stop());

  test('credentials from $DOCKER_CONFIG push; skopeo with the same login sees the digest', async () => {
    const cfg = await dockerConfig(await mkdirp(join(dir, 'docker-good')), reg.host, USER, PASSWORD);
    const r = await berth(['push', image, `${reg.host}/team/app:v1`, '--debug'], { env: testEnv(dir, { DOCKER_CONFIG: cfg }) });
    expect(r.stderr).toContain('berth: pushed');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(imageDigest);
    expect(r.stderr).toContain('berth: debug: HEAD http://');
    expectNoSecrets(r.stdout + r.stderr);
    const info = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${reg.host}/team/app:v1`]));
    expect(info.Digest).toBe(imageDigest);
  });

  test('a wrong password is one "unauthorized for REGISTRY/REPO" line, exit 1, with no secret in any output', async () => {
    const wrong = 'wrong-Password-42';
    const cfg = await dockerConfig(await mkdirp(join(dir, 'docker-bad')), reg.host, USER, wrong);
    for (const extra of [[], ['--debug'], ['--json']]) {
      const r = await berth(['push', image, `${reg.host}/team/app:v2`, ...extra], { env: testEnv(dir, { DOCKER_CONFIG: cfg }) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`berth: unauthorized for ${reg.host}/team/app: the registry refused the credentials from $DOCKER_CONFIG/config.json\n`);
      expect(r.stdout + r.stderr).not.toContain(wrong);
      expect(r.stdout + r.stderr).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'));
    }
  });

  test('no credentials at all says where berth looked', async () => {
    const r = await berth(['push', image, `${reg.host}/team/app:v3`], { env: testEnv(join(dir, 'nohome')) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^berth: unauthorized for ${reg.host.replace(/\./g, '\\.')}/team/app: the registry wants a login and none was found for ${reg.host.replace(/\./g, '\\.')} \\(docker login`));
  });

  test('REGISTRY_AUTH_FILE (podman) is read before Docker\'s config', async () => {
    const authFile = join(dir, 'podman-auth.json');
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    const badDocker = await dockerConfig(await mkdirp(join(dir, 'docker-bad2')), reg.host, USER, 'nope');
    const r = await berth(['push', image, `${reg.host}/team/podman:v1`], { env: testEnv(dir, { REGISTRY_AUTH_FILE: authFile, DOCKER_CONFIG: badDocker }) });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(imageDigest);
  });

  test('a credential helper (credHelpers) is asked through docker-credential-NAME get', async () => {
    const bin = await mkdirp(join(dir, 'helper-bin'));
    const log = join(dir, 'helper.log');
    const helper = join(bin, 'docker-credential-berthtest');
    await writeFile(
      helper,
      `#!/bin/sh\nread server\necho "$1 $server" >> ${log}\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`,
    );
    await chmod(helper, 0o755);
    const cfg = await mkdirp(join(dir, 'docker-helper'));
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'berthtest' }, auths: { 'other.example:5000': { auth: 'eDp5' } } }));
    const r = await berth(['push', image, `${reg.host}/team/helper:v1`, '--debug'], { env: testEnv(dir, { DOCKER_CONFIG: cfg, PATH: `${bin}:${process.env.PATH}` }) });
    expect(r.stderr).toContain('berth: pushed');
    expect(r.code).toBe(0);
    expectNoSecrets(r.stdout + r.stderr);
    expect(await run('cat', [log])).toBe(`get ${reg.host}\n`);
  });

  test('credentials are matched to the host exactly: a login for another port is not sent', async () => {
    const [, port] = reg.host.split(':');
    const cfg = await mkdirp(join(dir, 'docker-other-port'));
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [`127.0.0.1:${Number(port) + 1}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') }, 'https://127.0.0.1/v1/': { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    const r = await berth(['push', image, `${reg.host}/team/app:v4`], { env: testEnv(dir, { DOCKER_CONFIG: cfg }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('wants a login and none was found');
  });
});

describe('token auth (Bearer), with a token server in the test', () => {
  let reg: TestRegistry;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { token: { users: { [USER]: PASSWORD }, refreshTokens: { 'refresh-abc-123': USER } } } });
    env = testEnv(dir, { DOCKER_CONFIG: await dockerConfig(await mkdirp(join(dir, 'docker-token')), reg.host, USER, PASSWORD) });
  });
  afterAll(async () => reg.stop());

  /** Pushes the image to `repo` as a test's own arrangement, so no test reads what another pushed. */
  async function given(repo: string): Promise<void> {
    const r = await berth(['push', image, `${reg.host}/${repo}:v1`], { env });
    expect(r.stderr).toContain('berth: pushed');
  }

  test('push asks for the narrowest scope (pull,push on the target) once; inspect asks for pull only', async () => {
    const t = reg.token!;
    t.requests.length = 0;
    // A cache of its own: blobs other tests pushed elsewhere would be mounted, widening the scope.
    const r = await berth(['push', image, `${reg.host}/org/tok:v1`, '--debug'], { env: { ...env, XDG_CACHE_HOME: join(dir, 'narrow-cache') } });
    expect(r.stderr).toContain('berth: pushed');
    expect(r.code).toBe(0);
    expect(t.requests).toEqual([{ method: 'GET', user: USER, scopes: ['repository:org/tok:pull,push'], service: 'berth-test-registry' }]);
    expectNoSecrets(r.stdout + r.stderr, t.issued);

    t.requests.length = 0;
    const i = await berth(['inspect', `${reg.host}/org/tok:v1`, '--json', '--debug'], { env });
    expect(i.code).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({ reference: `${reg.host}/org/tok@${imageDigest}`, digest: imageDigest, platform: 'linux/amd64' });
    expect(t.requests.map((q) => q.scopes)).toEqual([['repository:org/tok:pull']]);
    expectNoSecrets(i.stdout + i.stderr, t.issued);
  });

  test('a copy to another repository mounts, with the source repository\'s pull scope in the same token', async () => {
    await given('org/copysrc');
    const t = reg.token!;
    t.requests.length = 0;
    const r = await berth(['copy', `${reg.host}/org/copysrc:v1`, `${reg.host}/org/copy:v1`, '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).push.blobs).toEqual({ uploaded: 0, mounted: 2, existing: 0, skipped: 0 });
    const scopeSets = t.requests.map((q) => [...q.scopes].sort());
    expect(scopeSets).toContainEqual(['repository:org/copy:pull,push', 'repository:org/copysrc:pull']);
    expect(scopeSets).toContainEqual(['repository:org/copysrc:pull']);
    const info = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${reg.host}/org/copy:v1`]));
    expect(info.Digest).toBe(imageDigest);
  });

  test('tokens are cached per scope and renewed when they expire', async () => {
    await given('org/cached');
    const t = reg.token!;
    // Renewed at 90% of a 4 s life: 3.6 s for the two HEADs on one token (a busy machine's
    // pause cannot make them two), and the wait after them always passes it.
    t.expiresIn = 4;
    try {
      t.requests.length = 0;
      const client = new RegistryClient(reg.host, { env });
      try {
        await client.headManifest('org/cached', 'v1');
        await client.headManifest('org/cached', 'v1');
        expect(t.requests).toHaveLength(1);
        await new Promise((r) => setTimeout(r, 3700));
        expect((await client.headManifest('org/cached', 'v1'))?.digest).toBe(imageDigest);
        expect(t.requests).toHaveLength(2);
        expect(t.requests[1]!.scopes).toEqual(['repository:org/cached:pull']);
      } finally {
        client.close();
      }
    } finally {
      t.expiresIn = 300;
    }
  });

  test('a token the registry rejects (expired early) is dropped and a new one fetched', async () => {
    await given('org/expired');
    const t = reg.token!;
    t.requests.length = 0;
    t.expireNext(1);
    const r = await berth(['inspect', `${reg.host}/org/expired:v1`, '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(t.requests).toHaveLength(2);
  });

  test('an identity token (OAuth2 refresh token) is exchanged with a POST', async () => {
    const t = reg.token!;
    t.requests.length = 0;
    const cfg = await mkdirp(join(dir, 'docker-identity'));
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [reg.host]: { identitytoken: 'refresh-abc-123' } } }));
    const r = await berth(['push', image, `${reg.host}/org/ident:v1`, '--debug'], { env: testEnv(join(dir, 'ident-home'), { DOCKER_CONFIG: cfg }) });
    expect(r.code).toBe(0);
    expect(t.requests).toEqual([{ method: 'POST', user: USER, scopes: ['repository:org/ident:pull,push'], service: 'berth-test-registry', grantType: 'refresh_token' }]);
    expect(r.stderr).not.toContain('refresh-abc-123');
  });

  test('a wrong password at the token server: unauthorized for REGISTRY/REPO, exit 1, no secret shown', async () => {
    const cfg = await dockerConfig(await mkdirp(join(dir, 'docker-token-bad')), reg.host, USER, 'not-it-9');
    const r = await berth(['pull', `${reg.host}/org/tok:v1`, '--output', join(dir, 'never.tar'), '--debug'], { env: testEnv(dir, { DOCKER_CONFIG: cfg }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`berth: unauthorized for ${reg.host}/org/tok: the token server refused the credentials from $DOCKER_CONFIG/config.json\n`);
    expect(r.stdout + r.stderr).not.toContain('not-it-9');
  });

  test('anonymous, where the token server gives anonymous tokens no access: unauthorized, exit 1', async () => {
    const r = await berth(['inspect', `${reg.host}/org/tok:v1`], { env: testEnv(join(dir, 'anon')) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`berth: unauthorized for ${reg.host}/org/tok: the token server wants a login and none was found`);
  });
});

async function mkdirp(p: string): Promise<string> {
  await mkdir(p, { recursive: true });
  return p;
}
