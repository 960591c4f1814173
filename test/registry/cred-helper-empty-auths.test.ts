/**
 * `docker login` with a credential helper leaves an empty entry in config.json's `auths`
 * (`"auths": {"reg": {}}`) next to `credsStore` or `credHelpers`: the secret is in the helper.
 * src/registry/credentials.ts in process, and a real registry behind htpasswd that only the
 * helper's login opens.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findCredential } from '../../src/registry/credentials.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';

const USER = 'helperuser';
const PASSWORD = 'pw-helper-Kq7!';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let bin: string;
let log: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-cred-empty-'));
  reg = await startRegistry({ auth: { htpasswd: { user: USER, password: PASSWORD } } });
  bin = join(dir, 'bin');
  log = join(dir, 'helper.log');
  await mkdir(bin);
  // A docker-credential helper as `docker login` uses: `get` reads the server on stdin.
  await writeFile(
    join(bin, 'docker-credential-berthtest'),
    `#!/bin/sh\nread server\necho "$1 $server" >> ${log}\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`,
  );
  await chmod(join(bin, 'docker-credential-berthtest'), 0o755);
});
afterAll(async () => {
  await reg?.stop();
  await cleanup?.();
});

async function configWith(name: string, doc: unknown): Promise<NodeJS.ProcessEnv> {
  const cfg = join(dir, name);
  await mkdir(cfg);
  await writeFile(join(cfg, 'config.json'), JSON.stringify(doc));
  return { DOCKER_CONFIG: cfg, HOME: dir, PATH: `${bin}:${process.env.PATH}` };
}

describe('an empty auths entry beside a credential helper', () => {
  test.each([
    ['credsStore', (host: string) => ({ auths: { [host]: {} }, credsStore: 'berthtest' })],
    ['credHelpers', (host: string) => ({ auths: { [host]: {} }, credHelpers: { [host]: 'berthtest' } })],
    ['credsStore, the entry keyed by URL', (host: string) => ({ auths: { [`http://${host}/v2/`]: {} }, credsStore: 'berthtest' })],
  ])('%s: the helper gives the login, and the registry accepts it', async (kind, doc) => {
    const env = await configWith(kind.replace(/\W+/g, '-'), doc(reg.host));
    await writeFile(log, '');
    const c = await findCredential(reg.host, env);
    expect(c).toEqual({ username: USER, password: PASSWORD, source: 'docker-credential-berthtest' });
    expect(await readFile(log, 'utf8')).toBe(`get ${reg.host}\n`);
    const client = new RegistryClient(reg.host, { env });
    try {
      await expect(client.checkLogin()).resolves.toBe('basic');
    } finally {
      client.close();
    }
  });
});
