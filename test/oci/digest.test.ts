import { createHash } from 'node:crypto';
import { expect, test } from '@jest/globals';
import { digestHex, isDigest, parseDigest, sha256Of } from '../../src/oci/digest.js';

test('sha256Of agrees with an independent hash and parses back', () => {
  const data = Buffer.from('berth');
  const d = sha256Of(data);
  expect(digestHex(d)).toBe(createHash('sha256').update(data).digest('hex'));
  expect(parseDigest(d)).toBe(d);
});

test('rejects malformed digests with the input named', () => {
  expect(isDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
  expect(isDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
  expect(isDigest(`md5:${'a'.repeat(32)}`)).toBe(false);
  expect(() => parseDigest('sha256:xyz', 'index.json')).toThrow(/index.json: "sha256:xyz" is not a valid digest/);
});
