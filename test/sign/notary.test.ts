import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SignerSpec } from '../../src/config/signing.js';
import type { Digest } from '../../src/oci/digest.js';
import { notaryPayload, notarySign, readNotaryAuth, type NotaryHttp, type NotaryTarget } from '../../src/sign/notary.js';
import { DEFAULT_RETRY } from '../../src/registry/retry.js';
import { tempDir } from '../helpers/tools.js';

/** A local HTTPS signing service: a CA, a server certificate for 127.0.0.1, a client certificate. */
let dir: string;
let cleanup: () => Promise<void>;
let server: Server;
let url: string;
const seen: { body: string; auth?: string; clientCN?: string }[] = [];
const answers: number[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-notary-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test ca');
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'berth-ci', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  writeFileSync(join(dir, 'creds.json'), JSON.stringify({ certData: Buffer.from(read('client.pem')).toString('base64'), privateKeyData: Buffer.from(read('client.key')).toString('base64') }));
  server = createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const authorized = (req.socket as import('node:tls').TLSSocket).authorized;
      seen.push({ body, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), ...(authorized && peer?.subject ? { clientCN: String(peer.subject.CN) } : {}) });
      const token = req.headers.authorization === 'Bearer s3cret-token';
      res.statusCode = !authorized && !token ? 401 : (answers.shift() ?? 202);
      res.end(res.statusCode === 400 ? '\n  {"error":"gun reg.example/team/app is not allowed"}\nsecond line\n' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/sign`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await cleanup();
});

const digest = ('sha256:' + 'ab'.repeat(32)) as Digest;
const targets: NotaryTarget[] = [
  { repository: 'reg.example/team/app', tag: 'v1.2.3', digest, size: 1234 },
  { repository: 'reg.example/team/app', tag: 'latest', digest, size: 1234 },
  { repository: 'reg.example/team/tool', tag: 'v1.2.3', digest, size: 99 },
];
const spec = (over: Partial<SignerSpec>): SignerSpec => ({ name: 'svc', type: 'notary', endpoint: url, ca: 'ca.pem', where: 'berth.yaml:3', ...over });

describe('notary signer', () => {
  test('the payload is kyma signing-service shape: one collection per repository, hex digests, manifest sizes', () => {
    expect(JSON.parse(notaryPayload(targets))).toEqual({
      trustedCollections: [
        { gun: 'reg.example/team/app', targets: [{ name: 'v1.2.3', byteSize: 1234, digest: 'ab'.repeat(32) }, { name: 'latest', byteSize: 1234, digest: 'ab'.repeat(32) }] },
        { gun: 'reg.example/team/tool', targets: [{ name: 'v1.2.3', byteSize: 99, digest: 'ab'.repeat(32) }] },
      ],
    });
  });

  const http = (over: Partial<NotaryHttp> = {}): NotaryHttp => ({ retry: { ...DEFAULT_RETRY, baseDelayMs: 20, maxDelayMs: 40 }, timeoutMs: 5000, ...over });
  const sign = async (sp: SignerSpec, ts: readonly NotaryTarget[], env: Record<string, string> = {}, h: NotaryHttp = http()) => notarySign(sp, await readNotaryAuth(sp, { configFile: join(dir, 'berth.yaml'), env }), ts, h);

  test('a client certificate from the secret file signs; 503s are retried until 202', async () => {
    seen.length = 0;
    answers.push(503, 500);
    const retries: string[] = [];
    await sign(spec({ secret: 'creds.json' }), targets, {}, http({ onRetry: (i) => retries.push(i.reason) }));
    expect(seen).toHaveLength(3);
    expect(retries).toHaveLength(2);
    expect(seen.every((s) => s.clientCN === 'berth-ci')).toBe(true);
    expect(JSON.parse(seen[2]!.body)).toEqual(JSON.parse(notaryPayload(targets)));
  });

  test('a bearer token from the environment signs', async () => {
    seen.length = 0;
    await sign(spec({ tokenEnv: 'SIGNING_TOKEN' }), targets.slice(0, 1), { SIGNING_TOKEN: 's3cret-token' });
    expect(seen.map((s) => s.auth)).toEqual(['Bearer s3cret-token']);
  });

  test('a refused token fails at once with the status, and the message holds no secret', async () => {
    seen.length = 0;
    const err = await sign(spec({ tokenEnv: 'SIGNING_TOKEN' }), targets, { SIGNING_TOKEN: 'wrong-token' }).catch((e: Error) => e);
    expect(String(err)).toContain(`signer svc: ${new URL(url).origin} answered 401: check its credentials`);
    expect(String(err)).not.toContain('wrong-token');
    expect(seen).toHaveLength(1);
  });

  test('--retries bounds the tries; the last answer is named', async () => {
    seen.length = 0;
    answers.push(...Array(10).fill(503));
    const err = await sign(spec({ secret: 'creds.json' }), targets, {}, http({ retry: { ...DEFAULT_RETRY, retries: 2, baseDelayMs: 10, maxDelayMs: 20 } })).catch((e: Error) => e);
    answers.length = 0;
    expect(seen).toHaveLength(3);
    expect(String(err)).toMatch(/signer svc: gave up after 3 tries: https:\/\/127\.0\.0\.1:\d+ answered 503/);
  });

  test('a service that never accepts fails once the retry time is spent', async () => {
    answers.push(...Array(50).fill(503));
    const err = await sign(spec({ secret: 'creds.json', retryTimeoutSeconds: 0 }), targets).catch((e: Error) => e);
    answers.length = 0;
    expect(String(err)).toMatch(/signer svc: gave up after 1 try: no progress for 0 s: .*answered 503/);
  });

  test('an abort stops the wait between tries at once', async () => {
    answers.push(...Array(50).fill(503));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('interrupted')), 200);
    const t0 = Date.now();
    const err = await sign(spec({ secret: 'creds.json' }), targets, {}, http({ retry: { ...DEFAULT_RETRY, baseDelayMs: 30_000, maxDelayMs: 30_000 }, signal: ctl.signal })).catch((e: Error) => e);
    answers.length = 0;
    expect(String(err)).toContain('interrupted');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test('a 400 names the first line of the answer and is not retried', async () => {
    seen.length = 0;
    answers.push(400);
    const err = await sign(spec({ secret: 'creds.json' }), targets).catch((e: Error) => e);
    expect(String(err)).toMatch(/signer svc: https:\/\/127\.0\.0\.1:\d+ answered 400 \(\{"error":"gun reg.example\/team\/app is not allowed"\}\)$/);
    expect(String(err)).not.toContain('undefined');
    expect(seen).toHaveLength(1);
  });

  test('an untrusted server certificate is not sent anything', async () => {
    seen.length = 0;
    const err = await sign(spec({ secret: 'creds.json', ca: undefined, retryTimeoutSeconds: 0 }), targets).catch((e: Error) => e);
    expect(String(err)).toMatch(/signer svc: .*certificate/);
    expect(seen).toHaveLength(0);
  });

  test("a secret file that is not kyma's shape is bad input", async () => {
    writeFileSync(join(dir, 'bad.json'), '{"cert":"x"}');
    await expect(sign(spec({ secret: 'bad.json' }), targets)).rejects.toThrow('signer svc: bad.json needs certData and privateKeyData (base64 PEM)');
  });
});

describe('notary signers in berth.yaml', () => {
  const yaml = (signer: string) => `signing:\n  enabled-signers:\n    '*': [svc]\n  signers:\n    - name: svc\n${signer}`;
  test('read with their fields', async () => {
    const { parseConfig } = await import('../../src/config/read-config.js');
    const c = await parseConfig(yaml('      type: notary\n      endpoint: https://sign.example/x\n      token-env: TOK\n      retry-timeout: 60\n'), 'berth.yaml');
    expect(c.signing!.signers[0]).toMatchObject({ type: 'notary', endpoint: 'https://sign.example/x', tokenEnv: 'TOK', retryTimeoutSeconds: 60 });
  });
  test.each([
    ['      type: notary\n      token-env: TOK\n', 'berth.yaml:5: signing.signers[0]: signer "svc" needs an endpoint'],
    ['      type: notary\n      endpoint: https://s.example\n', 'needs one of secret (a client certificate file) or token-env'],
    ['      type: notary\n      endpoint: https://s.example\n      token-env: T\n      key: k.pem\n', 'signer "svc": key does not apply to a notary signer'],
    ['      type: cosign-key\n      key: k\n      endpoint: https://s.example\n', 'signer "svc": endpoint does not apply to a cosign-key signer'],
    ['      type: notary\n      endpoint: ftp://s\n      token-env: T\n', '"ftp://s" is not an https address'],
    ['      type: notary\n      endpoint: http://sign.example/x\n      token-env: T\n', '"http://sign.example/x" is not https: a signing service gets credentials only over https'],
    ['      type: gpg\n      key: k\n', 'berth.yaml:6: signing.signers[0].type'],
  ])('refused: %j', async (signer, msg) => {
    const { parseConfig } = await import('../../src/config/read-config.js');
    await expect(parseConfig(yaml(signer), 'berth.yaml')).rejects.toThrow(msg);
  });
});
