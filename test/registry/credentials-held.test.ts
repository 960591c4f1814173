/** A planted bug went unnoticed here (issue 19): Docker's config after `docker login` with a credential store. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findCredential } from '../../src/registry/credentials.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-creds-')));
afterAll(async () => cleanup());

test('an empty auths entry (what docker login writes beside a credsStore) falls through to the credential helper', async () => {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'docker-credential-berthtest'), '#!/bin/sh\nread server\necho "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"u-$server\\",\\"Secret\\":\\"s\\"}"\n');
  await chmod(join(bin, 'docker-credential-berthtest'), 0o755);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': {} }, credsStore: 'berthtest' }));
  const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: dir };
  expect(await findCredential('registry.example.com', env)).toMatchObject({ username: 'u-registry.example.com', password: 's' });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': {} }, credHelpers: { 'registry.example.com': 'berthtest' } }));
  expect(await findCredential('registry.example.com', env)).toMatchObject({ username: 'u-registry.example.com', password: 's' });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': {} } }));
  expect(await findCredential('registry.example.com', env)).toBeUndefined();
});

test("a credsStore that has the host wins over the file's own auths entry, as in Docker; one that has nothing leaves it to the entry", async () => {
  const bin = join(dir, 'bin2');
  await mkdir(bin, { recursive: true });
  // Knows only registry.example.com; for any other host it says so as docker-credential-* helpers do (exit 1).
  await writeFile(join(bin, 'docker-credential-berthstore'), '#!/bin/sh\nread server\nif [ "$server" = registry.example.com ]; then echo "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"from-store\\",\\"Secret\\":\\"s\\"}"; else echo "credentials not found in native keychain"; exit 1; fi\n');
  await chmod(join(bin, 'docker-credential-berthstore'), 0o755);
  const inline = Buffer.from('from-file:p').toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': { auth: inline }, 'other.example.com': { auth: inline } }, credsStore: 'berthstore' }));
  const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: dir };
  expect(await findCredential('registry.example.com', env)).toMatchObject({ username: 'from-store', password: 's' });
  expect(await findCredential('other.example.com', env)).toMatchObject({ username: 'from-file', password: 'p' });
});
