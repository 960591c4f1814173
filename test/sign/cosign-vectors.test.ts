import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPrivateKey, publicKeyPem } from '../../src/sign/index.js';
import { berth, REPO_ROOT } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { testEnv } from '../registry/fixtures.js';
import { ok, pushImage, putBlob, putManifest, sha256, sigTag } from './helpers.js';

/**
 * A signature cosign made (test/fixtures/cosign, from sigstore-rs' tests), stored in a local
 * registry the way cosign lays it out, and verified by berth; and berth's keys checked against
 * the encrypted key files cosign wrote.
 */
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'cosign');
const IMAGE_DIGEST = 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
let payload: Buffer;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-cosign-'));
  reg = await startRegistry();
  env = testEnv(dir);
  payload = await readFile(join(FIXTURES, 'payload.json'));
  const signature = (await readFile(join(FIXTURES, 'signature.b64'), 'utf8')).trim();
  // cosign's layout, written out here literally: the payload blob; the config
  // go-containerregistry derives from empty.Image with the payload as its one layer; an OCI
  // manifest whose layer carries the signature; all under the tag sha256-<hex>.sig.
  const payloadDigest = await putBlob(reg.host, 'busybox', payload);
  const config = Buffer.from(
    `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${payloadDigest}"]},"config":{}}`,
  );
  const configDigest = await putBlob(reg.host, 'busybox', config);
  const manifest =
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${config.length},"digest":"${configDigest}"},` +
    `"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${payload.length},"digest":"${payloadDigest}","annotations":{"dev.cosignproject.cosign/signature":"${signature}"}}]}`;
  await putManifest(reg.host, 'busybox', sigTag(IMAGE_DIGEST), Buffer.from(manifest));
});
afterAll(async () => {
  await reg.stop();
  await cleanup();
});

describe("cosign's own signatures, verified by berth", () => {
  test('the sigstore-rs vector verifies with its key: exit 0, the payload printed as signed', async () => {
    const r = await ok(['verify', '--key', join(FIXTURES, 'cosign.pub'), `${reg.host}/busybox@${IMAGE_DIGEST}`], env);
    expect(r.stdout).toBe(`${payload.toString('utf8')}\n`);
    expect(r.stderr).toContain('1 signature verified');
    const j = JSON.parse((await ok(['verify', '--key', join(FIXTURES, 'cosign.pub'), `${reg.host}/busybox@${IMAGE_DIGEST}`, '--json'], env)).stdout);
    expect(j.verified[0]).toEqual({ layer: sha256(payload), payload: JSON.parse(payload.toString('utf8')) });
  });

  test('the same vector with another cosign key: exit 1, the signature check named', async () => {
    const r = await berth(['verify', '--key', join(FIXTURES, 'other.pub'), `${reg.host}/busybox@${IMAGE_DIGEST}`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(signature) the signature does not verify with the key');
  });

  test("keys cosign wrote sign with berth: the encrypted cosign format (password 123) and cosign generate-key-pair's empty-password file", async () => {
    const digest = await pushImage(dir, `${reg.host}/team/app:v1`, env, 'vector-app');
    await copyFile(join(FIXTURES, 'encrypted-cosign.key'), join(dir, 'cosign.key'));
    const s = await ok(['sign', '--key', join(dir, 'cosign.key'), `${reg.host}/team/app:v1`], { ...env, COSIGN_PASSWORD: '123' });
    expect(s.stdout).toBe(`${reg.host}/team/app@${digest}\n`);
    await ok(['sign', '--key', join(FIXTURES, 'encrypted-sigstore-empty-password.key'), `${reg.host}/team/app:v1`], { ...env, COSIGN_PASSWORD: '' });
    await ok(['sign', '--key', join(FIXTURES, 'ecdsa-pkcs8.key'), `${reg.host}/team/app:v1`], env);
    // Each signature verifies only with its own public key, which berth derives here from the private key.
    const pubs: string[] = [];
    for (const [key, password] of [
      ['encrypted-cosign.key', '123'],
      ['encrypted-sigstore-empty-password.key', ''],
      ['ecdsa-pkcs8.key', undefined],
    ] as const) {
      pubs.push(publicKeyPem(await loadPrivateKey(await readFile(join(FIXTURES, key), 'utf8'), { password, where: key })));
    }
    expect(new Set(pubs).size).toBe(3);
    for (const [i, pub] of pubs.entries()) {
      const file = join(dir, `vector-${i}.pub`);
      await writeFile(file, pub);
      const v = await ok(['verify', '--key', file, `${reg.host}/team/app:v1`, '--json'], env);
      const j = JSON.parse(v.stdout);
      expect(j.verified).toHaveLength(1);
      expect(j.rejected).toHaveLength(2);
    }
  });
});
