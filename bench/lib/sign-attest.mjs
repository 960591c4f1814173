#!/usr/bin/env node
// sign-attest.mjs ORDER KEY_A KEY_B REF... : REF... is two sets of the same number of images
// in the same state (the same images published twice, into two fresh sets of repositories;
// nothing signed or attested yet). In one node process, times signing every image of the
// first set alone with KEY_A (one `signTargets` call, as `berth sign` makes it), and signing
// every image of the second set with KEY_B while attaching a signed SLSA provenance statement
// to each (as `release --sign --provenance` does: signatures and attestations at once, on the
// same Registries, so with the same --jobs). ORDER `sa` runs sign-alone first, `as` the other
// first. Keys in cosign's format, password from COSIGN_PASSWORD. Prints one JSON line:
// {images, signMs, signAttestMs, signRequests, signAttestRequests}. Needs dist/ (npm run build).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const { cosignKeySigner, loadPrivateKey, resolveImage, signTargets } = await import(join(dist, 'sign', 'index.js'));
const { attestTargets } = await import(join(dist, 'sign', 'attest.js'));
const { provenanceStatement, statementBytes, SLSA_PROVENANCE_V1 } = await import(join(dist, 'sign', 'provenance-statement.js'));
const { Registries } = await import(join(dist, 'registry', 'pool.js'));
const { parseReference } = await import(join(dist, 'oci', 'reference.js'));

const [order, keyA, keyB, ...all] = process.argv.slice(2);
if (!['sa', 'as'].includes(order) || !keyA || !keyB || all.length === 0 || all.length % 2 !== 0) {
  console.error('usage: sign-attest.mjs sa|as KEY_A KEY_B REF... (two sets of the same size)');
  process.exit(2);
}
const half = all.length / 2;
const load = async (f) => cosignKeySigner(f, await loadPrivateKey(await readFile(f, 'utf8'), { password: process.env.COSIGN_PASSWORD, where: f }));
const [a, b] = await Promise.all([load(keyA), load(keyB)]);
// Requests are counted (the client's redacted request lines) while an arm runs.
let requests = 0;
const registries = new Registries({ env: process.env, log: () => requests++ });
try {
  const references = all.map((r) => parseReference(r));
  const resolved = await Promise.all(references.map((r) => resolveImage(registries, r)));
  const everyTarget = references.map((r, i) => ({ registry: r.registry, repository: r.repository, digest: resolved[i].digest, size: resolved[i].size }));
  const aloneTargets = everyTarget.slice(0, half);
  const targets = everyTarget.slice(half);
  const facts = { platforms: ['linux/amd64'], buildArgs: {}, engine: 'native' };
  const runAlone = async () => {
    const r0 = requests;
    const t = performance.now();
    const signed = await signTargets(registries, aloneTargets, [a]);
    if (signed.some((s) => s.added.length !== 1)) throw new Error('sign alone: not every image was signed');
    return [performance.now() - t, requests - r0];
  };
  const runBoth = async () => {
    const r0 = requests;
    const t = performance.now();
    const attestTargetsList = targets.map((x, i) => ({ ...x, mediaType: resolved[half + i].mediaType, statement: statementBytes(provenanceStatement([{ name: `${x.registry}/${x.repository}`, digest: x.digest }], facts, { version: 'bench' })), predicateType: SLSA_PROVENANCE_V1 }));
    const [signed, attested] = await Promise.all([signTargets(registries, targets, [b]), attestTargets(registries, attestTargetsList, [b])]);
    if (signed.some((s) => s.added.length !== 1) || attested.length !== targets.length) throw new Error('sign + attest: not every image was done');
    return [performance.now() - t, requests - r0];
  };
  let alone, both;
  if (order === 'sa') {
    alone = await runAlone();
    both = await runBoth();
  } else {
    both = await runBoth();
    alone = await runAlone();
  }
  console.log(JSON.stringify({ images: half, signMs: Math.round(alone[0]), signAttestMs: Math.round(both[0]), signRequests: alone[1], signAttestRequests: both[1] }));
} finally {
  registries.close();
}
