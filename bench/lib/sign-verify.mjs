#!/usr/bin/env node
// sign-verify.mjs KEY PUB REF...: in one node process, reads and decrypts KEY (cosign format,
// password from COSIGN_PASSWORD), signs every REF (one `signImages` call, as `berth sign`
// makes it), then verifies each with PUB (as `berth verify` does, all in one pool). Prints one
// JSON line: {images, keyMs, signMs, verifyMs, totalMs}. Needs dist/ (npm run build).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const t0 = performance.now();
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const { cosignKeySigner, loadPrivateKey, loadPublicKey, signImages, verifyImage } = await import(join(dist, 'sign', 'index.js'));
const { Registries } = await import(join(dist, 'registry', 'pool.js'));
const { parseReference } = await import(join(dist, 'oci', 'reference.js'));

const [keyFile, pubFile, ...refs] = process.argv.slice(2);
if (!keyFile || !pubFile || refs.length === 0) {
  console.error('usage: sign-verify.mjs KEY PUB REF...');
  process.exit(2);
}
const key = await loadPrivateKey(await readFile(keyFile, 'utf8'), { password: process.env.COSIGN_PASSWORD, where: keyFile });
const pub = loadPublicKey(await readFile(pubFile, 'utf8'), pubFile);
const tKey = performance.now();
const registries = new Registries({ env: process.env });
try {
  const references = refs.map((r) => parseReference(r));
  const signed = await signImages(registries, references, [cosignKeySigner(keyFile, key)]);
  const tSign = performance.now();
  const results = await Promise.all(references.map((r) => verifyImage(registries, r, pub)));
  const tVerify = performance.now();
  const bad = results.filter((r) => r.verified.length !== 1);
  if (signed.length !== refs.length || bad.length > 0) {
    console.error(`sign-verify.mjs: ${signed.length} signed, ${bad.length} did not verify`);
    process.exit(1);
  }
  const ms = (a, b) => Math.round(b - a);
  console.log(JSON.stringify({ images: refs.length, keyMs: ms(t0, tKey), signMs: ms(tKey, tSign), verifyMs: ms(tSign, tVerify), totalMs: ms(t0, tVerify) }));
} finally {
  registries.close();
}
