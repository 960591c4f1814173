import { describe, expect, test } from '@jest/globals';
import { createHash, createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/read-config.js';
import type { Digest } from '../../src/oci/digest.js';
import {
  buildSignatureArtifact,
  decryptCosignKey,
  encodePayload,
  encryptCosignKey,
  generateKeyFiles,
  loadPrivateKey,
  loadPublicKey,
  parsePayload,
  pemBlocks,
  publicKeyPem,
  repoOf,
  runKinds,
  selectSigners,
  signatureLayer,
  signatureTag,
  signPayload,
  verifyLayer,
  SIGNATURE_ANNOTATION,
} from '../../src/sign/index.js';
import { REPO_ROOT } from '../helpers/paths.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'cosign');
const fixture = (name: string) => readFile(join(FIXTURES, name), 'utf8');
const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const VECTOR_DIGEST = 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b' as Digest;

async function expectBadKey(p: Promise<unknown>, message: RegExp): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string; exitCode?: number },
  );
  expect(err).toBeDefined();
  expect((err as { code?: string }).code).toBe('BAD_KEY');
  expect((err as { exitCode?: number }).exitCode).toBe(2);
  expect(err!.message).toMatch(message);
  return err!;
}

describe('the payload and signature artifact, byte for byte as cosign writes them', () => {
  test("berth's payload for the vector's image is the payload cosign signed (sigstore-rs vector)", async () => {
    const cosign = await readFile(join(FIXTURES, 'payload.json'));
    const ours = encodePayload('registry-testing.svc.lan/busybox', VECTOR_DIGEST);
    expect(Buffer.from(ours).toString('utf8')).toBe(cosign.toString('utf8'));
  });

  test("payload and config reproduce the digests of a cosign .sig manifest quoted by goharbor/harbor", () => {
    const payload = encodePayload('10.202.250.215/library/hello-world', 'sha256:1b26826f602946860c279fce658f31050cff2c596583af237d971f4629b57792' as Digest);
    expect(payload.length).toBe(250);
    expect(sha256(payload)).toBe('sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564');
    const layer = signatureLayer(payload, { [SIGNATURE_ANNOTATION]: 'MEUCIQD/imXjZJlcV82eXu9y9FJGgbDwVPw7AaGFzqva8G+CgwIgYc4CRvEjwoAwkzGoX+aZxQWCASpv5G+EAWDKOJRLbTQ=' });
    const artifact = buildSignatureArtifact([layer]);
    expect(artifact.config.raw.length).toBe(233);
    expect(artifact.config.digest).toBe('sha256:d4e6059ece7bea95266fd7766353130d4bf3dc21048b8a9783c98b8412618c38');
    const manifest = JSON.parse(Buffer.from(artifact.manifest.raw).toString('utf8'));
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 233, digest: artifact.config.digest },
      layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: 250, digest: sha256(payload), annotations: layer.annotations }],
    });
    expect(sha256(artifact.manifest.raw)).toBe(artifact.manifest.digest);
  });

  test('annotations go into optional with keys sorted and HTML characters escaped, as Go encodes them', () => {
    const text = Buffer.from(encodePayload('r.example/app', VECTOR_DIGEST, { zeta: '1', alpha: '<a&b>' })).toString('utf8');
    expect(text.endsWith('"optional":{"alpha":"\\u003ca\\u0026b\\u003e","zeta":"1"}}')).toBe(true);
    expect(parsePayload(Buffer.from(text)).optional).toEqual({ alpha: '<a&b>', zeta: '1' });
  });

  test('the signature tag is sha256-<hex>.sig', () => {
    expect(signatureTag(VECTOR_DIGEST)).toBe('sha256-f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b.sig');
  });
});

describe('verifying a layer offline (the sigstore-rs cosign vector)', () => {
  test('the genuine signature verifies; every other case names the check that failed', async () => {
    const payload = await readFile(join(FIXTURES, 'payload.json'));
    const signature = (await fixture('signature.b64')).trim();
    const key = loadPublicKey(await fixture('cosign.pub'), 'cosign.pub');
    const desc = signatureLayer(payload, { [SIGNATURE_ANNOTATION]: signature });
    const ok = verifyLayer(desc, payload, key, VECTOR_DIGEST);
    expect(ok).toEqual({ ok: true, payload: expect.objectContaining({ digest: VECTOR_DIGEST, dockerReference: 'registry-testing.svc.lan/busybox', optional: null }) });

    const other = loadPublicKey(await fixture('other.pub'), 'other.pub');
    expect(verifyLayer(desc, payload, other, VECTOR_DIGEST)).toMatchObject({ ok: false, check: 'signature' });
    expect(verifyLayer(desc, payload, key, sha256('another image'))).toMatchObject({ ok: false, check: 'digest', reason: expect.stringContaining(VECTOR_DIGEST) });
    expect(verifyLayer(desc, payload, key, VECTOR_DIGEST, { env: 'prod' })).toMatchObject({ ok: false, check: 'annotations', reason: expect.stringContaining('env is not there') });
    // A changed payload under the old descriptor: its bytes no longer match the layer digest.
    const tampered = Buffer.from(payload.toString('utf8').replace('busybox', 'busyb0x'));
    expect(verifyLayer(desc, tampered, key, VECTOR_DIGEST)).toMatchObject({ ok: false, check: 'layer' });
    // ...and under a descriptor rewritten for it: the signature no longer verifies.
    expect(verifyLayer(signatureLayer(tampered, desc.annotations!), tampered, key, VECTOR_DIGEST)).toMatchObject({ ok: false, check: 'signature' });
  });
});

describe('a signature berth makes, checked by the spec\'s rules with node crypto alone', () => {
  test('ECDSA P-256 over SHA-256 of the payload bytes, DER, base64', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const payload = encodePayload('127.0.0.1:5000/app', VECTOR_DIGEST);
    const sig = signPayload(payload, privateKey);
    const der = Buffer.from(sig, 'base64');
    expect(der[0]).toBe(0x30); // an ASN.1 SEQUENCE: DER, not the raw r||s form
    expect(cryptoVerify('sha256', payload, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
    expect(cryptoVerify('sha256', Buffer.concat([Buffer.from(payload), Buffer.from(' ')]), { key: publicKey, dsaEncoding: 'der' }, der)).toBe(false);
  });
});

describe('keys', () => {
  test("cosign's encrypted key files from sigstore-rs open with their passwords and sign", async () => {
    const cosignKey = await loadPrivateKey(await fixture('encrypted-cosign.key'), { password: '123', where: 'encrypted-cosign.key' });
    const emptyKey = await loadPrivateKey(await fixture('encrypted-sigstore-empty-password.key'), { password: '', where: 'k' });
    // An unset COSIGN_PASSWORD is tried as the empty password, as for cosign's files with none.
    const unsetKey = await loadPrivateKey(await fixture('encrypted-sigstore-empty-password.key'), { password: undefined, where: 'k' });
    expect(publicKeyPem(unsetKey)).toBe(publicKeyPem(emptyKey));
    for (const key of [cosignKey, emptyKey]) {
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      const payload = encodePayload('r.example/app', VECTOR_DIGEST);
      const desc = signatureLayer(payload, { [SIGNATURE_ANNOTATION]: signPayload(payload, key) });
      expect(verifyLayer(desc, payload, createPublicKey(key), VECTOR_DIGEST).ok).toBe(true);
    }
    const pkcs8 = await loadPrivateKey(await fixture('ecdsa-pkcs8.key'), { password: undefined, where: 'ecdsa-pkcs8.key' });
    expect(pkcs8.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  test('a wrong or missing password says so, and never shows the password', async () => {
    const text = await fixture('encrypted-cosign.key');
    const err = await expectBadKey(loadPrivateKey(text, { password: 'hunter2-wrong', where: 'encrypted-cosign.key' }), /^encrypted-cosign\.key: cannot decrypt the key: wrong password \(COSIGN_PASSWORD\)$/);
    expect(err.message).not.toContain('hunter2');
    await expectBadKey(loadPrivateKey(text, { password: undefined, where: 'encrypted-cosign.key' }), /COSIGN_PASSWORD is not set/);
  });

  test('SEC1 and encrypted PKCS#8 PEM keys load; RSA, P-384 and public keys are refused with one line', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    expect(pemBlocks(sec1)[0]!.label).toBe('EC PRIVATE KEY');
    expect((await loadPrivateKey(sec1, { password: undefined, where: 'sec1' })).asymmetricKeyType).toBe('ec');
    const enc = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(publicKeyPem(await loadPrivateKey(enc, { password: 'pw', where: 'enc' }))).toBe(publicKeyPem(privateKey));
    await expectBadKey(loadPrivateKey(enc, { password: 'nope', where: 'enc.key' }), /^enc\.key: cannot decrypt the key: wrong password/);
    await expectBadKey(loadPrivateKey(enc, { password: undefined, where: 'enc.key' }), /^enc\.key: the key is encrypted and COSIGN_PASSWORD is not set$/);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectBadKey(loadPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { password: undefined, where: 'rsa.key' }), /^rsa\.key: is an RSA key; berth signs and verifies with ECDSA P-256 keys/);
    await expectBadKey(loadPrivateKey(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), { password: undefined, where: 'rsa.key' }), /is an RSA key/);
    expect(() => loadPublicKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'rsa.pub')).toThrow(/rsa\.pub: is an RSA key/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    await expectBadKey(loadPrivateKey(p384.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { password: undefined, where: 'p384.key' }), /is an ECDSA key on secp384r1/);
    await expectBadKey(loadPrivateKey(publicKeyPem(privateKey), { password: undefined, where: 'x.pub' }), /is a public key; signing needs the private key/);
    expect(() => loadPublicKey(sec1, 'cosign.key')).toThrow(/is a private key; verification takes the public key/);
    await expectBadKey(loadPrivateKey('not a key', { password: undefined, where: 'junk' }), /holds no PEM private key/);
  });

  test('the cosign key format round-trips, with go-securesystemslib\'s JSON and a refusal of outsized scrypt parameters', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    const sealed = await encryptCosignKey(der, 'pw');
    const doc = JSON.parse(sealed.toString('utf8'));
    expect(Object.keys(doc)).toEqual(['kdf', 'cipher', 'ciphertext']);
    expect(doc.kdf).toEqual({ name: 'scrypt', params: { N: 32768, r: 8, p: 1 }, salt: expect.any(String) });
    expect(Buffer.from(doc.kdf.salt, 'base64')).toHaveLength(32);
    expect(doc.cipher).toEqual({ name: 'nacl/secretbox', nonce: expect.any(String) });
    expect(Buffer.from(doc.cipher.nonce, 'base64')).toHaveLength(24);
    expect(await decryptCosignKey(sealed, 'pw', 'k', 'wrong password')).toEqual(der);
    const huge = Buffer.from(JSON.stringify({ ...doc, kdf: { ...doc.kdf, params: { N: 1 << 24, r: 8, p: 1 } } }));
    await expectBadKey(decryptCosignKey(huge, 'pw', 'k', 'wrong password'), /unexpected scrypt parameters/);

    const files = await generateKeyFiles('pw', 'cosign');
    expect(files.privatePem.startsWith('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n')).toBe(true);
    expect(files.privatePem.split('\n').every((l) => l.length <= 64)).toBe(true);
    const back = await loadPrivateKey(files.privatePem, { password: 'pw', where: 'k' });
    expect(publicKeyPem(back)).toBe(files.publicPem);
    const pk8 = await generateKeyFiles('', 'pkcs8');
    expect(pk8.privatePem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
  });
});

describe('signers from berth.yaml', () => {
  const yaml = [
    'signing:',
    '  enabled-signers:',
    "    '*': [release]",
    '    kyma-project/kyma: [kyma]',
    '  signers:',
    '    - name: release',
    '      type: cosign-key',
    '      key: keys/cosign.key',
    '      job-type: [postsubmit, release]',
    '    - name: kyma',
    '      type: cosign-key',
    '      key-env: KYMA_KEY',
    '      password-env: KYMA_PASSWORD',
    '',
  ].join('\n');

  test('the union of * and org/repo applies, limited by job type; pull requests are never signed', async () => {
    const config = (await parseConfig(yaml, 'berth.yaml')).signing!;
    expect(config.signers.map((s) => [s.name, s.key ?? `$${s.keyEnv}`, s.where])).toEqual([
      ['release', 'keys/cosign.key', 'berth.yaml:6'],
      ['kyma', '$KYMA_KEY', 'berth.yaml:10'],
    ]);
    const names = (repo: string | undefined, kinds: Parameters<typeof selectSigners>[2]) => selectSigners(config, repo, kinds).signers.map((s) => s.name);
    expect(names('kyma-project/kyma', ['postsubmit'])).toEqual(['release', 'kyma']);
    expect(names('other/repo', ['postsubmit'])).toEqual(['release']);
    expect(names('kyma-project/kyma', ['periodic'])).toEqual(['kyma']);
    expect(names('other/repo', ['manual'])).toEqual([]);
    expect(selectSigners(config, 'other/repo', ['manual']).none).toMatch(/limited to other job types/);
    expect(selectSigners(config, 'kyma-project/kyma', ['presubmit'])).toEqual({ signers: [], none: 'pull-request builds are not signed', pullRequest: true });
    expect(selectSigners(undefined, 'a/b', ['postsubmit']).none).toMatch(/names no signers/);
  });

  test('mistakes are one line naming the file, the line and the key', async () => {
    const bad = (text: string) => parseConfig(text, 'berth.yaml').then(() => '', (e: Error) => e.message);
    expect(await bad(yaml.replace('[kyma]', '[kyma, nobody]'))).toBe('berth.yaml:4: signing.enabled-signers.kyma-project/kyma: "nobody" is not a signer listed under signers (known: release, kyma)');
    expect(await bad(yaml.replace('[postsubmit, release]', '[presubmit]'))).toMatch(/^berth\.yaml:9: signing\.signers\[0\]\.job-type\[0\]: pull-request \(presubmit\) builds are never signed/);
    expect(await bad(yaml.replace('      key-env: KYMA_KEY\n', ''))).toBe('berth.yaml:10: signing.signers[1]: signer "kyma" needs one of key (a path) or key-env (a variable holding the key)');
    expect(await bad(yaml.replace('type: cosign-key\n      key-env', 'type: gpg\n      key-env'))).toMatch(/^berth\.yaml:11: signing\.signers\[1\]\.type: want one of cosign-key, notary/);
    expect(await bad(yaml.replace("'*'", 'not-a-repo'))).toMatch(/^berth\.yaml:3: signing\.enabled-signers\.not-a-repo: "not-a-repo" is not '\*' or org\/repo/);
  });

  test('the kind of run and org/repo come from Prow or GitHub Actions', () => {
    expect(runKinds({ JOB_TYPE: 'presubmit', PULL_NUMBER: '7' })).toEqual(['presubmit']);
    expect(runKinds({ JOB_TYPE: 'postsubmit', PULL_BASE_REF: 'main' })).toEqual(['postsubmit']);
    expect(runKinds({ JOB_TYPE: 'postsubmit', PULL_BASE_REF: 'v1.2.3' })).toEqual(['release', 'postsubmit']);
    expect(runKinds({ JOB_TYPE: 'periodic' })).toEqual(['periodic']);
    expect(runKinds({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/3/merge' })).toEqual(['presubmit']);
    expect(runKinds({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/tags/v2.0.0' })).toEqual(['release', 'postsubmit']);
    expect(runKinds({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'schedule', GITHUB_REF: 'refs/heads/main' })).toEqual(['periodic']);
    expect(runKinds({})).toEqual(['manual']);
    expect(repoOf({ JOB_TYPE: 'postsubmit', REPO_OWNER: 'kyma-project', REPO_NAME: 'kyma' })).toBe('kyma-project/kyma');
    expect(repoOf({ GITHUB_REPOSITORY: 'cert-manager/cert-manager' })).toBe('cert-manager/cert-manager');
  });
});
