/**
 * The `cosign-key` signer: an ECDSA P-256 key (cosign's encrypted format, or PKCS#8 / EC PEM)
 * signs each image's simple-signing payload into its `sha256-<hex>.sig` manifest, as `cosign
 * sign --key` does, and signs DSSE envelopes (attestations) as `cosign attest --key` does.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { SignerSpec } from '../config/signing.js';
import { OperationalError, UsageError } from '../errors.js';
import { RegistryError } from '../registry/registry-error.js';
import { loadPrivateKey } from './keys.js';
import { signatureLayer, signatureTag } from './signature-manifest.js';
import { dockerReferenceOf, encodePayload } from './payload.js';
import { addSignatures, settleAll } from './sign.js';
import { SIGNATURE_ANNOTATION, signPayload, verifyPayload } from './signature.js';
import type { ImageSigner, SignatureRecord, SignerContext, SignRun, SignTarget } from './signer.js';

const name = (t: { registry: string; repository: string }) => `${t.registry}/${t.repository}`;

/** The DSSE `keyid` of a key: the hex SHA-256 of its public key (SPKI DER). A hint only. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** An ImageSigner over a private key, shown as `shown` in messages and reports. */
export function cosignKeySigner(shown: string, key: KeyObject): ImageSigner & Required<Pick<ImageSigner, 'signBytes' | 'verifyBytes'>> {
  const publicKey = createPublicKey(key);
  const keyid = keyIdOf(publicKey);
  return {
    name: shown,
    type: 'cosign-key',
    description: `cosign-key ${shown}`,
    signBytes: (bytes) => ({ keyid, sig: signPayload(bytes, key) }),
    verifyBytes: (bytes, sig) => verifyPayload(bytes, sig, publicKey),
    async signImages(targets: readonly SignTarget[], run: SignRun): Promise<SignatureRecord[]> {
      const limit = pLimit(run.jobs ?? run.registries.jobs);
      // Two targets sharing a signature tag (one digest in one repository, or one
      // $COSIGN_REPOSITORY for several) are written one after the other.
      const chains = new Map<string, Promise<unknown>>();
      return settleAll(
        targets.map((t) =>
          limit(async (): Promise<SignatureRecord> => {
            const sigRepo = run.signatureRepository ?? t;
            const tag = signatureTag(t.digest);
            const payload = encodePayload(dockerReferenceOf(t), t.digest, run.annotations);
            const sig = { signer: { name: shown, publicKey }, payload, layer: signatureLayer(payload, { [SIGNATURE_ANNOTATION]: signPayload(payload, key) }) };
            const chainKey = `${name(sigRepo)}:${tag}`;
            const job = (chains.get(chainKey) ?? Promise.resolve()).catch(() => {}).then(() => addSignatures(run.registries.client(sigRepo.registry), sigRepo.repository, tag, [sig], run.signal));
            chains.set(chainKey, job);
            const r = await job.catch((err) => {
              throw err instanceof RegistryError && err.code !== 'UNAUTHORIZED' ? err.withContext(`signing ${name(t)}@${t.digest}`) : err;
            });
            return { signer: shown, type: 'cosign-key', status: r.added.length ? 'added' : 'present', where: chainKey, manifest: r.digest };
          }),
        ),
      );
    },
  };
}

/** Reads a key file, saying which file when it cannot be read. */
export async function readKeyFile(path: string, shown: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('UNREADABLE', `${shown}: no such key file`);
    if (code === 'EISDIR') throw new UsageError('UNREADABLE', `${shown}: is a directory, not a key file`);
    throw new OperationalError('UNREADABLE', `${shown}: cannot read the key file (${code ?? 'error'})`, { cause: err });
  }
}

/** berth.yaml's `type: cosign-key` signer: its key from `key` (a path beside berth.yaml) or `key-env`, decrypted with `password-env`. */
export async function openCosignKeySigner(spec: SignerSpec, ctx: SignerContext): Promise<ImageSigner> {
  const passwordEnv = spec.passwordEnv ?? 'COSIGN_PASSWORD';
  let text: string;
  let where: string;
  if (spec.keyEnv !== undefined) {
    where = `signer ${spec.name} ($${spec.keyEnv})`;
    const v = ctx.env[spec.keyEnv];
    if (v === undefined || v.trim() === '') throw new UsageError('BAD_KEY', `${where}: ${spec.keyEnv} is not set (${spec.where})`);
    text = v;
  } else {
    where = `signer ${spec.name} (${spec.key})`;
    text = await readKeyFile(resolve(dirname(ctx.configFile), spec.key!), where);
  }
  const key = await loadPrivateKey(text, { password: ctx.env[passwordEnv], where, passwordSource: passwordEnv });
  return cosignKeySigner(spec.name, key);
}
