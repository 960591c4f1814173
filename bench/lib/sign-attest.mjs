#!/usr/bin/env node
// sign-attest.mjs ORDER KEY_A KEY_B REF...: in one node process, times signing every REF alone
// with KEY_A (one `signTargets` call, as `berth sign` makes it), and signing every REF with
// KEY_B while attaching a signed SLSA provenance statement to each (as `release --sign
// --provenance` does: signatures and attestations at once). ORDER `sa` runs sign-alone first,
// `as` the other first. Keys in cosign's format, password from COSIGN_PASSWORD. Prints one
// JSON line: {images, signMs, signAttestMs}. Needs dist/ (npm run build).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const { cosignKeySigner, loadPrivateKey, resolveImage, signTargets } = await import(join(dist, 'sign', 'index.js'));
const { attestTargets } = await import(join(dist, 'sign', 'attest.js'));
const { provenanceStatement, statementBytes, SLSA_PROVENANCE_V1 } = await import(join(dist, 'sign', 'provenance.js'));
const { Registries } = await import(join(dist, 'registry', 'pool.js'));
const { parseReference } = await import(join(dist, 'oci', 'reference.js'));

const [order, keyA, keyB, ...refs] = process.argv.slice(2);
if (!['sa', 'as'].includes(order) || !keyA || !keyB || refs.length === 0) {
  console.error('usage: sign-attest.mjs sa|as KEY_A KEY_B REF...');
  process.exit(2);
}
const load = async (f) => cosignKeySigner(f, await loadPrivateKey(await readFile(f, 'utf8'), { password: process.env.COSIGN_PASSWORD, where: f }));
const [a, b] = await Promise.all([load(keyA), load(keyB)]);
const registries = new Registries({ env: process.env });
try {
  const references = refs.map((r) => parseReference(r));
  const resolved = await Promise.all(references.map((r) => resolveImage(registries, r)));
  const targets = references.map((r, i) => ({ registry: r.registry, repository: r.repository, digest: resolved[i].digest, size: resolved[i].size }));
  const facts = { platforms: ['linux/amd64'], buildArgs: {}, engine: 'native' };
  const signAlone = async () => {
    const t = performance.now();
    const signed = await signTargets(registries, targets, [a]);
    if (signed.some((s) => s.added.length !== 1)) throw new Error('sign alone: not every image was signed');
    return performance.now() - t;
  };
  const signAttest = async () => {
    const t = performance.now();
    const attestTargetsList = targets.map((x, i) => ({ ...x, mediaType: resolved[i].mediaType, statement: statementBytes(provenanceStatement([{ name: `${x.registry}/${x.repository}`, digest: x.digest }], facts, { version: 'bench' })), predicateType: SLSA_PROVENANCE_V1 }));
    const [signed, attested] = await Promise.all([signTargets(registries, targets, [b]), attestTargets(registries, attestTargetsList, [b])]);
    if (signed.some((s) => s.added.length !== 1) || attested.length !== targets.length) throw new Error('sign + attest: not every image was done');
    return performance.now() - t;
  };
  let signMs, signAttestMs;
  if (order === 'sa') {
    signMs = await signAlone();
    signAttestMs = await signAttest();
  } else {
    signAttestMs = await signAttest();
    signMs = await signAlone();
  }
  console.log(JSON.stringify({ images: refs.length, signMs: Math.round(signMs), signAttestMs: Math.round(signAttestMs) }));
} finally {
  registries.close();
}
