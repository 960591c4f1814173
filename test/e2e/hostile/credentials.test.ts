/**
 * Credentials (issue 20, item 4): `--creds USER` with the password in BERTH_CREDS_PASSWORD or on
 * stdin never puts it on the command line; `--creds USER:PASSWORD` is masked in berth's own
 * command line (what ps shows) once it runs, and warned about; `berth login` writes through a
 * symlinked config.json, keeping the symlink and mode 0600. Against the real registry with
 * htpasswd; no output holds the password.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN } from '../../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { tempDir } from '../../helpers/tools.js';
import { staticBase, testEnv } from '../../registry/fixtures.js';
import { runBerth } from './helpers.js';

const USER = 'dora';
const PASSWORD = 'pw-Hostile!9_never-in-ps';
let dir: string;
let cleanup: () => Promise<void>;
let image: string;
let reg: TestRegistry;
let seen = '';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-hostile-creds-'));
  image = join(dir, 'base.tar');
  await staticBase(image);
  reg = await startRegistry({ auth: { htpasswd: { user: USER, password: PASSWORD } } });
}, 60_000);
afterAll(async () => {
  expect(seen).not.toContain(PASSWORD);
  expect(seen).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
  await reg?.stop();
  await cleanup?.();
});

async function berth(args: string[], env: NodeJS.ProcessEnv, stdin?: string) {
  const r = await runBerth(args, { cwd: dir, env, ...(stdin !== undefined ? { stdin } : {}) });
  seen += r.stdout + r.stderr;
  return r;
}

test('--creds USER with the password in BERTH_CREDS_PASSWORD, or on stdin: no warning, no password on the command line', async () => {
  const env = testEnv(dir, { DOCKER_CONFIG: join(dir, 'empty-config') });
  const viaEnv = await berth(['push', image, `${reg.host}/creds/app:v1`, '--creds', USER], { ...env, BERTH_CREDS_PASSWORD: PASSWORD });
  expect(viaEnv.code).toBe(0);
  expect(viaEnv.stderr).not.toMatch(/warning/);
  const viaStdin = await berth(['inspect', `${reg.host}/creds/app:v1`, '--creds', USER], env, `${PASSWORD}\n`);
  expect(viaStdin.code).toBe(0);
  const wrong = await berth(['inspect', `${reg.host}/creds/app:v1`, '--creds', USER], { ...env, BERTH_CREDS_PASSWORD: 'nope' });
  expect(wrong.code).toBe(1);
  expect(wrong.lines.at(-1)).toMatch(/refused the credentials from --creds$/);
  const none = await berth(['inspect', `${reg.host}/creds/app:v1`, '--creds', USER], env, '');
  expect(none).toMatchObject({ code: 2, lines: ['berth: --creds (or BERTH_CREDS_PASSWORD): stdin gave an empty password'] });
});

test('--creds USER:PASSWORD: a warning naming the better way, and ps shows the password masked while berth runs', async () => {
  const env = testEnv(dir, { DOCKER_CONFIG: join(dir, 'empty-config') });
  // A registry that never answers keeps berth running long enough to look at its command line.
  const net = await import('node:net');
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const child = spawn(process.execPath, [BERTH_BIN, 'inspect', `127.0.0.1:${port}/x/app:v1`, '--creds', `${USER}:${PASSWORD}`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const until = Date.now() + 20_000;
  while (!stderr.includes('warning') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const cmdline = (await readFile(`/proc/${child.pid}/cmdline`)).toString().replaceAll('\0', ' ');
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  silent.close();
  seen += cmdline + stderr;
  expect(cmdline).toContain(`--creds ${USER}:***`);
  expect(cmdline).not.toContain(PASSWORD);
  expect(stderr).toContain('berth: warning: --creds USER:PASSWORD shows the password to every user of this machine (ps); give --creds USER with the password in BERTH_CREDS_PASSWORD or on stdin\n');
});

test('berth login writes through a symlinked config.json: the symlink stays, the file it points to gets the login, mode 0600', async () => {
  const dotfiles = join(dir, 'dotfiles');
  const cfg = join(dir, 'docker-config');
  await mkdir(dotfiles, { recursive: true });
  await mkdir(cfg, { recursive: true });
  await writeFile(join(dotfiles, 'docker-config.json'), JSON.stringify({ auths: { 'other.example:5000': { auth: 'eDp5' } } }), { mode: 0o600 });
  await symlink(join(dotfiles, 'docker-config.json'), join(cfg, 'config.json'));
  const env = testEnv(dir, { DOCKER_CONFIG: cfg });
  const r = await berth(['login', reg.host, '-u', USER, '--password-stdin'], env, `${PASSWORD}\n`);
  expect(r.code).toBe(0);
  expect((await lstat(join(cfg, 'config.json'))).isSymbolicLink()).toBe(true);
  expect(await readlink(join(cfg, 'config.json'))).toBe(join(dotfiles, 'docker-config.json'));
  const file = JSON.parse(await readFile(join(dotfiles, 'docker-config.json'), 'utf8'));
  expect(file.auths[reg.host]).toEqual({ auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') });
  expect(file.auths['other.example:5000']).toEqual({ auth: 'eDp5' });
  expect((await stat(join(dotfiles, 'docker-config.json'))).mode & 0o777).toBe(0o600);
  const { readdir } = await import('node:fs/promises');
  expect((await readdir(dotfiles)).sort()).toEqual(['docker-config.json']);
  expect((await readdir(cfg)).sort()).toEqual(['config.json']);
  expect((await berth(['logout', reg.host], env)).code).toBe(0);
  expect((await lstat(join(cfg, 'config.json'))).isSymbolicLink()).toBe(true);
});
