import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { testEnv } from '../registry/fixtures.js';
import { getBlob, getManifest, ok, pushImage, putBlob, putManifest, sha256, sigTag } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
const SIG_ANNOTATION = 'dev.cosignproject.cosign/signature';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
let appDigest: string;
let multiDigest: string;
let k1: string;
let k2: string;
let k3: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-sign-'));
  reg = await startRegistry();
  env = testEnv(dir, { COSIGN_PASSWORD: PASSWORD });
  [appDigest, multiDigest] = await Promise.all([
    pushImage(dir, `${reg.host}/team/app:v1`, env, 'app'),
    pushImage(dir, `${reg.host}/team/multi:v1`, env, 'multi', ['linux/amd64', 'linux/arm64']),
  ]);
  k1 = join(dir, 'k1');
  k2 = join(dir, 'k2');
  k3 = join(dir, 'k3');
  await ok(['keygen', '--output-key-prefix', k1], env);
  await ok(['keygen', '--output-key-prefix', k2, '--format', 'pkcs8'], env);
  await ok(['keygen', '--output-key-prefix', k3], env);
});
afterAll(async () => {
  await reg.stop();
  await cleanup();
});

interface SigManifest {
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[];
}

async function sigManifest(repo: string, digest: string): Promise<SigManifest> {
  const m = await getManifest(reg.host, repo, sigTag(digest));
  expect(m.status).toBe(200);
  return JSON.parse(m.raw.toString('utf8')) as SigManifest;
}

/**
 * Pushes the app image to a repository of the calling test's own, signed with k1 if asked:
 * no test reads what another one signed, so each runs alone or in any order.
 */
async function appIn(repo: string, signed: boolean): Promise<void> {
  const pushed = await ok(['push', join(dir, 'app.tar'), `${reg.host}/${repo}:v1`, '--quiet'], env);
  expect(pushed.stdout.trim()).toBe(appDigest);
  if (signed) await ok(['sign', '--key', `${k1}.key`, `${reg.host}/${repo}:v1`], env);
}

describe('berth sign and verify against a real registry', () => {
  test('sign by tag, then verify: exit 0 and the verified payload names the digest', async () => {
    await appIn('sig/bytag', false);
    const s = await ok(['sign', '--key', `${k1}.key`, `${reg.host}/sig/bytag:v1`], env);
    expect(s.stdout).toBe(`${reg.host}/sig/bytag@${appDigest}\n`);
    expect(s.stderr).toContain(`signed by ${k1}.key -> ${reg.host}/sig/bytag:${sigTag(appDigest)}`);

    const v = await ok(['verify', '--key', `${k1}.pub`, `${reg.host}/sig/bytag:v1`], env);
    const payload = JSON.parse(v.stdout);
    expect(payload).toEqual({
      critical: { identity: { 'docker-reference': `${reg.host}/sig/bytag` }, image: { 'docker-manifest-digest': appDigest }, type: 'cosign container image signature' },
      optional: null,
    });
    const j = JSON.parse((await ok(['verify', '--key', `${k1}.pub`, `${reg.host}/sig/bytag@${appDigest}`, '--json'], env)).stdout);
    expect(j.verified).toHaveLength(1);
    expect(j.signatureTag).toBe(`${reg.host}/sig/bytag:${sigTag(appDigest)}`);
  });

  test("the .sig manifest follows cosign's spec, checked here without berth: layout, payload and an ECDSA P-256 signature", async () => {
    await appIn('sig/spec', true);
    const m = await sigManifest('sig/spec', appDigest);
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    const config = await getBlob(reg.host, 'sig/spec', m.config.digest);
    expect(JSON.parse(config.toString('utf8'))).toEqual({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [m.layers[0]!.digest] },
      config: {},
    });
    expect(m.layers).toHaveLength(1);
    const layer = m.layers[0]!;
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = await getBlob(reg.host, 'sig/spec', layer.digest);
    expect(sha256(payload)).toBe(layer.digest);
    expect(payload.length).toBe(layer.size);
    const doc = JSON.parse(payload.toString('utf8'));
    expect(doc.critical.image['docker-manifest-digest']).toBe(appDigest);
    expect(doc.critical.type).toBe('cosign container image signature');
    const pub = createPublicKey(await readFile(`${k1}.pub`));
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const der = Buffer.from(layer.annotations[SIG_ANNOTATION]!, 'base64');
    expect(cryptoVerify('sha256', payload, { key: pub, dsaEncoding: 'der' }, der)).toBe(true);
    expect(cryptoVerify('sha256', payload, { key: createPublicKey(await readFile(`${k3}.pub`)), dsaEncoding: 'der' }, der)).toBe(false);
  });

  test('a second key adds a layer; both keys verify; signing again with the first adds nothing', async () => {
    await appIn('sig/twokeys', true);
    const s = await ok(['sign', '--key', `${k2}.key`, `${reg.host}/sig/twokeys@${appDigest}`], env);
    expect(s.stderr).toContain(`signed by ${k2}.key`);
    expect((await sigManifest('sig/twokeys', appDigest)).layers).toHaveLength(2);
    for (const k of [k1, k2]) {
      const v = await ok(['verify', '--key', `${k}.pub`, `${reg.host}/sig/twokeys:v1`], env);
      expect(v.stderr).toContain('1 signature verified');
      expect(v.stderr).toContain('(1 other signature not verified: signature)');
    }
    const again = await ok(['sign', '--key', `${k1}.key`, `${reg.host}/sig/twokeys:v1`], env);
    expect(again.stderr).toContain(`already signed by ${k1}.key`);
    expect((await sigManifest('sig/twokeys', appDigest)).layers).toHaveLength(2);
  });

  test('a key that never signed: exit 1 naming the failed check', async () => {
    await appIn('sig/otherkey', true);
    const v = await berth(['verify', '--key', `${k3}.pub`, `${reg.host}/sig/otherkey:v1`], { env });
    expect(v.code).toBe(1);
    expect(v.stdout).toBe('');
    expect(v.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(v.stderr).toMatch(/no signature verifies with .*k3\.pub: layer sha256:[0-9a-f]{12}… \(signature\) the signature does not verify with the key/);
  });

  test('annotations: -a puts them in the payload; verify -a must match', async () => {
    const dig = await pushImage(dir, `${reg.host}/team/annotated:v1`, env, 'annotated');
    await ok(['sign', '--key', `${k1}.key`, '-a', 'env=prod', '-a', 'commit=abc123', `${reg.host}/team/annotated:v1`], env);
    const v = await ok(['verify', '--key', `${k1}.pub`, '-a', 'env=prod', `${reg.host}/team/annotated@${dig}`], env);
    expect(JSON.parse(v.stdout).optional).toEqual({ commit: 'abc123', env: 'prod' });
    const bad = await berth(['verify', '--key', `${k1}.pub`, '-a', 'env=dev', `${reg.host}/team/annotated:v1`], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('(annotations) annotation mismatch: env is "prod", not "dev"');
  });

  test('tampering: the .sig manifest re-pushed with a changed payload fails verification (exit 1)', async () => {
    const dig = await pushImage(dir, `${reg.host}/team/tamper:v1`, env, 'tamper');
    await ok(['sign', '--key', `${k1}.key`, `${reg.host}/team/tamper:v1`], env);
    await ok(['verify', '--key', `${k1}.pub`, `${reg.host}/team/tamper:v1`], env);
    const m = await sigManifest('team/tamper', dig);
    const payload = await getBlob(reg.host, 'team/tamper', m.layers[0]!.digest);
    const changed = Buffer.from(payload.toString('utf8').replace('"optional":null', '"optional":{"approved":"yes"}'));
    const newDigest = await putBlob(reg.host, 'team/tamper', changed);
    const forged = { ...m, layers: [{ ...m.layers[0]!, digest: newDigest, size: changed.length }] };
    await putManifest(reg.host, 'team/tamper', sigTag(dig), Buffer.from(JSON.stringify(forged)));
    const v = await berth(['verify', '--key', `${k1}.pub`, `${reg.host}/team/tamper:v1`], { env });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('(signature) the signature does not verify with the key (signed with another key, or the payload was changed)');
    expect(v.stdout).toBe('');
  });

  test('a genuine signature for another image, copied to this one: exit 1, saying which digest it signs', async () => {
    await appIn('sig/original', true);
    const dig = await pushImage(dir, `${reg.host}/team/copycat:v1`, env, 'copycat');
    const m = await sigManifest('sig/original', appDigest);
    for (const l of [m.config, ...m.layers]) await putBlob(reg.host, 'team/copycat', await getBlob(reg.host, 'sig/original', l.digest));
    await putManifest(reg.host, 'team/copycat', sigTag(dig), (await getManifest(reg.host, 'sig/original', sigTag(appDigest))).raw);
    const v = await berth(['verify', '--key', `${k1}.pub`, `${reg.host}/team/copycat:v1`], { env });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`(digest) signs ${appDigest}, not this image's ${dig}`);
  });

  test('several images at once, and --recursive signs every image of an index', async () => {
    const index = JSON.parse((await getManifest(reg.host, 'team/multi', multiDigest)).raw.toString('utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests).toHaveLength(2);
    const other = await pushImage(dir, `${reg.host}/team/other:v1`, env, 'other');
    const s = await ok(['sign', '--key', `${k1}.key`, '--recursive', `${reg.host}/team/multi:v1`, `${reg.host}/team/other:v1`, '--json'], env);
    const signed = JSON.parse(s.stdout) as { reference: string }[];
    expect(signed.map((x) => x.reference).sort()).toEqual(
      [`${reg.host}/team/multi@${multiDigest}`, ...index.manifests.map((d) => `${reg.host}/team/multi@${d.digest}`), `${reg.host}/team/other@${other}`].sort(),
    );
    for (const d of [multiDigest, ...index.manifests.map((x) => x.digest)]) await ok(['verify', '--key', `${k1}.pub`, `${reg.host}/team/multi@${d}`], env);
    await ok(['verify', '--key', `${k1}.pub`, `${reg.host}/team/other:v1`], env);
  });

  test('$COSIGN_REPOSITORY keeps signatures in another repository', async () => {
    const dig = await pushImage(dir, `${reg.host}/team/elsewhere:v1`, env, 'elsewhere');
    const withRepo = { ...env, COSIGN_REPOSITORY: `${reg.host}/signatures` };
    const s = await ok(['sign', '--key', `${k1}.key`, `${reg.host}/team/elsewhere:v1`], withRepo);
    expect(s.stderr).toContain(`-> ${reg.host}/signatures:${sigTag(dig)}`);
    expect((await getManifest(reg.host, 'signatures', sigTag(dig))).status).toBe(200);
    expect((await getManifest(reg.host, 'team/elsewhere', sigTag(dig))).status).toBe(404);
    await ok(['verify', '--key', `${k1}.pub`, `${reg.host}/team/elsewhere:v1`], withRepo);
    const without = await berth(['verify', '--key', `${k1}.pub`, `${reg.host}/team/elsewhere:v1`], { env });
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('no signatures found');
  });

  test('an unsigned image, and an image that does not exist: exit 1, one line', async () => {
    const dig = await pushImage(dir, `${reg.host}/team/unsigned:v1`, env, 'unsigned');
    const u = await berth(['verify', '--key', `${k1}.pub`, `${reg.host}/team/unsigned:v1`], { env });
    expect(u.code).toBe(1);
    expect(u.stderr).toBe(`berth: ${reg.host}/team/unsigned@${dig}: no signatures found (${reg.host}/team/unsigned:${sigTag(dig)} does not exist)\n`);
    for (const argv of [
      ['sign', '--key', `${k1}.key`, `${reg.host}/team/nope:v1`],
      ['verify', '--key', `${k1}.pub`, `${reg.host}/team/nope:v1`],
      ['verify', '--key', `${k1}.pub`, `${reg.host}/team/nope@${sha256('nothing')}`],
    ]) {
      const r = await berth(argv, { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^berth: ${reg.host.replace('.', '\\.')}/team/nope[:@].*: no such image in the registry \\(check the name and tag, and that it was pushed\\)\\n$`));
    }
  });

  test('bad keys and passwords: one line, exit 2, and neither key nor password in any output', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'rsa.key'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'rsa.pub'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    const keyText = await readFile(`${k1}.key`, 'utf8');
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['sign', '--key', join(dir, 'missing.key'), `${reg.host}/team/app:v1`], env, /missing\.key: no such key file$/],
      [['sign', '--key', `${k1}.key`, `${reg.host}/team/app:v1`], { ...env, COSIGN_PASSWORD: 'not the password' }, /k1\.key: cannot decrypt the key: wrong password \(COSIGN_PASSWORD\)$/],
      [['sign', '--key', `${k2}.key`, `${reg.host}/team/app:v1`], { ...env, COSIGN_PASSWORD: undefined }, /k2\.key: the key is encrypted and COSIGN_PASSWORD is not set$/],
      [['sign', '--key', join(dir, 'rsa.key'), `${reg.host}/team/app:v1`], env, /rsa\.key: is an RSA key; berth signs and verifies with ECDSA P-256 keys/],
      [['verify', '--key', join(dir, 'rsa.pub'), `${reg.host}/team/app:v1`], env, /rsa\.pub: is an RSA key/],
      [['verify', '--key', `${k1}.key`, `${reg.host}/team/app:v1`], env, /k1\.key: is a private key; verification takes the public key/],
      [['sign', `${reg.host}/team/app:v1`], env, /^berth: nothing to sign with: berth\.yaml names no signers \(signing\.signers\); or pass --key cosign\.key$/],
    ];
    for (const [argv, e, message] of cases) {
      const r = await berth(argv, { env: e, cwd: dir });
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      for (const secret of [PASSWORD, 'not the password', keyText.split('\n')[1]!, keyText.split('\n')[2]!]) {
        expect(r.stdout).not.toContain(secret);
        expect(r.stderr).not.toContain(secret);
      }
    }
    // --debug adds a stack, still without the password or the key.
    const d = await berth(['sign', '--debug', '--key', `${k1}.key`, `${reg.host}/team/app:v1`], { env: { ...env, COSIGN_PASSWORD: 'not the password' } });
    expect(d.code).toBe(2);
    expect(d.stderr).not.toContain('not the password');
    expect(d.stderr).not.toContain(keyText.split('\n')[1]!);
  });

  test('keygen refuses to replace keys without --force, and writes both files or neither', async () => {
    const prefix = join(dir, 'k1');
    const before = await readFile(`${prefix}.key`, 'utf8');
    const r = await berth(['keygen', '--output-key-prefix', prefix], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`berth: ${prefix}.key: already exists; pass --force to replace it\n`);
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe(before);
    const lone = join(dir, 'lone');
    await writeFile(`${lone}.pub`, 'mine');
    const r2 = await berth(['keygen', '--output-key-prefix', lone], { env });
    expect(r2.code).toBe(2);
    await expect(stat(`${lone}.key`)).rejects.toThrow();
    const noPassword = await berth(['keygen', '--output-key-prefix', join(dir, 'np')], { env: { ...env, COSIGN_PASSWORD: undefined } });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('set COSIGN_PASSWORD');
    const f = join(dir, 'forced');
    await ok(['keygen', '--output-key-prefix', f], env);
    const first = await readFile(`${f}.pub`, 'utf8');
    await ok(['keygen', '--output-key-prefix', f, '--force'], env);
    expect(await readFile(`${f}.pub`, 'utf8')).not.toBe(first);
    expect((await stat(`${f}.key`)).mode & 0o777).toBe(0o600);
    expect((await readFile(`${f}.key`, 'utf8')).startsWith('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n')).toBe(true);
  });
});
