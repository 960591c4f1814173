import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { cosignKeySigner } from '../../src/sign/cosign-signer.js';
import { envelopeBytes, envelopeVerifies, pae, parseEnvelope, signEnvelope } from '../../src/sign/dsse.js';
import { looksSecret, mergeFacts, parseFacts, provenanceStatement, statementBytes, type BuildFacts } from '../../src/sign/provenance-statement.js';
import { sanitizeRemote } from '../../src/sign/provenance-facts.js';
import { statementValue } from '../../src/sign/verify-attestation.js';
import type { Digest } from '../../src/oci/digest.js';

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;

describe('DSSE', () => {
  test("PAE is the spec's encoding (its test vector)", () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  test('lengths are byte counts, not characters', () => {
    expect(pae('t', Buffer.from('é')).toString('utf8')).toBe('DSSEv1 1 t 2 é');
  });
  test('an envelope signed by a key verifies with it, and not with another key or another payload', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const e = parseEnvelope(envelopeBytes(signEnvelope('application/vnd.in-toto+json', Buffer.from('{"a":1}'), [cosignKeySigner('k', privateKey)])), 'x');
    expect(envelopeVerifies(e, privateKey)).toBe(true);
    expect(envelopeVerifies(e, other.publicKey)).toBe(false);
    expect(envelopeVerifies({ ...e, body: Buffer.from('{"a":2}') }, privateKey)).toBe(false);
    expect(() => parseEnvelope(Buffer.from('{"payload":"x"}'), 'where')).toThrow('where: not a DSSE envelope (payloadType, payload, signatures)');
  });
});

describe('provenance statement', () => {
  const facts: BuildFacts = {
    dockerfile: 'images/app/Dockerfile',
    platforms: ['linux/arm64', 'linux/amd64'],
    buildArgs: { Z: '1', A: '2', GITHUB_TOKEN: 'x', DB_PASSWORD: 'y', SIGNING_KEY: 'z', KEYCLOAK_VERSION: '24' },
    bases: [{ name: 'b.example/z:1', digest: d('b') }, { name: 'a.example/y:1', digest: d('a') }],
    git: { commit: 'c'.repeat(40), clean: true },
  };
  test('the same facts in another order give the same bytes; secrets are left out', () => {
    const shuffled: BuildFacts = { ...facts, platforms: [...facts.platforms].reverse(), buildArgs: Object.fromEntries(Object.entries(facts.buildArgs!).reverse()), bases: [...facts.bases!].reverse() };
    const a = statementBytes(provenanceStatement([{ name: 'r/app', digest: d('1') }], facts, { version: '1.0.0' }));
    const b = statementBytes(provenanceStatement([{ name: 'r/app', digest: d('1') }], shuffled, { version: '1.0.0' }));
    expect(a.equals(b)).toBe(true);
    const s = JSON.parse(a.toString());
    expect(s.predicate.buildDefinition.externalParameters.buildArgs).toEqual({ A: '2', KEYCLOAK_VERSION: '24', Z: '1' });
    expect(s.predicate.buildDefinition.resolvedDependencies.map((x: { uri: string }) => x.uri)).toEqual(['git', 'docker-image://a.example/y:1', 'docker-image://b.example/z:1']);
    expect(statementValue(s, 'commit')).toBe('c'.repeat(40));
    expect(statementValue(s, 'clean')).toBe('true');
    expect(statementValue(s, 'builder.id')).toBe('https://berth.dev/builder/v1');
    expect(statementValue(s, 'platforms')).toBe('["linux/amd64","linux/arm64"]');
  });
  test.each([['NPM_TOKEN', true], ['AWS_SECRET_ACCESS_KEY', true], ['password', true], ['API_KEY', true], ['KUBECTL_VERSION', false], ['GOARCH', false], ['KEYCLOAK_VERSION', false]])('looksSecret(%s) is %s', (name, want) => {
    expect(looksSecret(name)).toBe(want);
  });
  test('facts of several platforms merge: platforms joined, the earliest start and latest end', () => {
    const m = mergeFacts([{ platforms: ['linux/amd64'], startedOn: '2026-01-01T00:00:05Z', finishedOn: '2026-01-01T00:00:09Z' }, { platforms: ['linux/arm64'], startedOn: '2026-01-01T00:00:01Z', finishedOn: '2026-01-01T00:00:20Z' }]);
    expect(m).toMatchObject({ platforms: ['linux/amd64', 'linux/arm64'], startedOn: '2026-01-01T00:00:01Z', finishedOn: '2026-01-01T00:00:20Z' });
  });
  test('a facts file of the wrong shape is bad input naming the file', () => {
    expect(() => parseFacts('nope', 'app.tar.provenance.json')).toThrow('app.tar.provenance.json: not JSON');
    expect(() => parseFacts('{"platforms":["linux/amd64"],"bases":[{"name":"x","digest":"sha256:12"}]}', 'f')).toThrow('f: a base without a name and sha256 digest');
  });
  test('a remote keeps no credentials', () => {
    expect(sanitizeRemote('https://user:ghp_secret@github.com/kyma-project/test-infra.git')).toBe('git+https://github.com/kyma-project/test-infra.git');
    expect(sanitizeRemote('git@github.com:kyma-project/test-infra.git')).toBe('git+ssh://github.com/kyma-project/test-infra.git');
  });
});
