/**
 * berth login / logout and --creds, --src-creds, --dest-creds against the real registry with
 * htpasswd and with token auth, run as a user runs them (bin/berth.js, password on stdin).
 * No output of any run may hold the password or its Basic encoding.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { staticBase, testEnv } from './fixtures.js';

const USER = 'carol';
const PASSWORD = 'pw-Login!7_never-printed';
const SECRETS = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

let dir: string;
let cleanup: () => Promise<void>;
let image: string;
let basic: TestRegistry;
let token: TestRegistry;
/** Every stdout and stderr of every run, checked for secrets at the end. */
let seen = '';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-login-'));
  image = join(dir, 'base.tar');
  await staticBase(image);
  basic = await startRegistry({ auth: { htpasswd: { user: USER, password: PASSWORD } } });
  token = await startRegistry({ auth: { token: { users: { [USER]: PASSWORD } } } });
}, 60_000);
afterAll(async () => {
  for (const s of SECRETS) expect(seen).not.toContain(s);
  await basic?.stop();
  await token?.stop();
  await cleanup?.();
});

function berthIn(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BERTH_BIN, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
      seen += stdout + stderr;
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

async function configDir(name: string, content?: object): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  if (content) await writeFile(join(d, 'config.json'), JSON.stringify(content));
  return d;
}

describe.each([
  ['htpasswd', () => basic],
  ['token', () => token],
])('%s registry', (kind, reg) => {
  test('login checks the password, keeps it in $DOCKER_CONFIG/config.json (0600, other keys kept); push uses it; logout forgets it', async () => {
    const host = reg().host;
    const cfg = await configDir(`cfg-${kind}`, { auths: { 'other.example:5000': { auth: 'eDp5' } }, credHelpers: {} });
    const env = testEnv(dir, { DOCKER_CONFIG: cfg });

    const wrong = await berthIn(['login', host, '-u', USER, '--password-stdin'], env, 'not-the-password\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^berth: unauthorized for .*refused the credentials from berth login\n$/);
    expect(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).auths[host]).toBeUndefined();

    const ok = await berthIn(['login', host, '-u', USER, '--password-stdin'], env, `${PASSWORD}\n`);
    expect(ok).toEqual({ code: 0, stdout: 'Login Succeeded\n', stderr: `berth: logged in to ${host} as ${USER}; kept in $DOCKER_CONFIG/config.json\n` });
    const file = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'));
    expect(file.auths[host]).toEqual({ auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') });
    expect(file.auths['other.example:5000']).toEqual({ auth: 'eDp5' });
    expect((await stat(join(cfg, 'config.json'))).mode & 0o777).toBe(0o600);

    const push = await berthIn(['push', image, `${host}/login/app:v1`], env);
    expect(push.code).toBe(0);

    const out = await berthIn(['logout', host], env);
    expect(out).toEqual({ code: 0, stdout: '', stderr: `berth: removed the login for ${host} from $DOCKER_CONFIG/config.json\n` });
    expect(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).auths).toEqual({ 'other.example:5000': { auth: 'eDp5' } });
    expect((await berthIn(['logout', host], env)).stderr).toBe(`berth: not logged in to ${host}\n`);
    const denied = await berthIn(['push', image, `${host}/login/app:v2`], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/wants a login and none was found/);
  });

  test('--creds USER:PASS and --creds USER (password on stdin) stand in for a login', async () => {
    const host = reg().host;
    const env = testEnv(dir, { DOCKER_CONFIG: await configDir(`empty-${kind}`) });
    expect((await berthIn(['push', image, `${host}/creds/app:v1`, '--creds', `${USER}:${PASSWORD}`], env)).code).toBe(0);
    expect((await berthIn(['inspect', `${host}/creds/app:v1`, '--creds', USER], env, PASSWORD)).code).toBe(0);
    const wrong = await berthIn(['push', image, `${host}/creds/app:v2`, '--creds', `${USER}:nope`], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the credentials from --creds\n$/);
  });
});

test('copy --src-creds and --dest-creds: from the htpasswd registry to the token registry', async () => {
  const env = testEnv(dir, { DOCKER_CONFIG: await configDir('empty-copy') });
  expect((await berthIn(['push', image, `${basic.host}/src/app:v1`, '--creds', `${USER}:${PASSWORD}`], env)).code).toBe(0);
  const r = await berthIn(['copy', `docker://${basic.host}/src/app:v1`, `docker://${token.host}/dst/app:v1`, '--src-creds', `${USER}:${PASSWORD}`, '--dest-creds', `${USER}:${PASSWORD}`], env);
  expect(r.stderr).toContain('berth: copied');
  expect(r.code).toBe(0);
  const bad = await berthIn(['copy', 'base.tar', `${token.host}/dst/app:v2`, '--src-creds', `${USER}:${PASSWORD}`], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe('berth: --src-creds: the source is not in a registry\n');
});

test("login with a credsStore keeps the secret in that helper, as docker login does, and push reads it back", async () => {
  const bin = join(dir, 'helper-bin');
  await mkdir(bin, { recursive: true });
  const store = join(dir, 'helper-store.json');
  // A docker-credential helper keeping one secret in a file.
  await writeFile(
    join(bin, 'docker-credential-berthtest'),
    `#!/bin/sh\ncase "$1" in\n  store) cat > ${store} ;;\n  get) cat ${store} 2>/dev/null || { echo "credentials not found"; exit 1; } ;;\n  erase) rm -f ${store} ;;\nesac\n`,
  );
  await chmod(join(bin, 'docker-credential-berthtest'), 0o755);
  const cfg = await configDir('cfg-helper', { credsStore: 'berthtest' });
  const env = testEnv(dir, { DOCKER_CONFIG: cfg, PATH: `${bin}:${process.env.PATH}` });
  const r = await berthIn(['login', basic.host, '-u', USER, '--password-stdin'], env, PASSWORD);
  expect(r.stderr).toBe(`berth: logged in to ${basic.host} as ${USER}; kept in docker-credential-berthtest\n`);
  expect(JSON.parse(await readFile(store, 'utf8'))).toEqual({ ServerURL: basic.host, Username: USER, Secret: PASSWORD });
  expect(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'))).toEqual({ credsStore: 'berthtest' });
  expect((await berthIn(['push', image, `${basic.host}/helper/app:v1`], env)).code).toBe(0);
  expect((await berthIn(['logout', basic.host], env)).stderr).toBe(`berth: removed the login for ${basic.host} from docker-credential-berthtest\n`);
  await expect(stat(store)).rejects.toThrow();
});

test('bad usage: no --password-stdin, no user, an empty password', async () => {
  const env = testEnv(dir, { DOCKER_CONFIG: await configDir('cfg-usage') });
  expect(await berthIn(['login', basic.host, '-u', USER], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^berth: login: give --password-stdin/) });
  expect(await berthIn(['login', basic.host, '--password-stdin'], env, PASSWORD)).toMatchObject({ code: 2, stderr: 'berth: login: give the user with -u USER\n' });
  expect(await berthIn(['login', basic.host, '-u', USER, '--password-stdin'], env, '')).toMatchObject({ code: 2, stderr: 'berth: --password-stdin: stdin gave an empty password\n' });
});
