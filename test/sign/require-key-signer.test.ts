/** `--provenance` needs a signer that signs bytes (the DSSE envelope): bad input otherwise, naming the signers there are. */
import { expect, test } from '@jest/globals';
import { UsageError } from '../../src/errors.js';
import { requireKeySigner, type ImageSigner } from '../../src/sign/index.js';

const service = { name: 'svc', type: 'notary', description: 'notary svc (https://sign.example)', signImages: async () => [] } as ImageSigner;
const key = { ...service, name: 'k', type: 'cosign-key', description: 'cosign-key k', signBytes: () => ({ keyid: '', sig: '' }) } as ImageSigner;

test('a key signer among others passes', () => {
  expect(() => requireKeySigner([service, key], 'hint')).not.toThrow();
});

test('only service signers: exit-2 error naming them and the hint', () => {
  let err: unknown;
  try {
    requireKeySigner([service], 'add a cosign-key signer to berth.yaml');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toBe('--provenance: the attestation is a DSSE envelope signed with a key, and no signer here has one (notary svc (https://sign.example)); add a cosign-key signer to berth.yaml');
});

test('no signers: the reason given, else "none"', () => {
  expect(() => requireKeySigner([], 'h', 'no signer applies to ghcr.io/acme')).toThrow('(no signer applies to ghcr.io/acme); h');
  expect(() => requireKeySigner([], 'h')).toThrow('(none); h');
});
