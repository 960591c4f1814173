/**
 * A local HTTPS signing service in kyma's shape, for tests: a CA, a server certificate for
 * 127.0.0.1, a client certificate (and kyma's secret file holding it), and a bearer token.
 * It records every request and answers 202 unless told otherwise (`answers`, one per request).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';

export interface NotaryRequest {
  body: string;
  auth?: string;
  clientCN?: string;
}

export interface NotaryService {
  /** `https://127.0.0.1:PORT/sign` */
  url: string;
  /** The CA file (PEM) the server's certificate is signed by. */
  ca: string;
  /** kyma's secret file: `{"certData","privateKeyData"}`, base64 PEMs of the client certificate. */
  secretFile: string;
  /** The token the service accepts. */
  token: string;
  seen: NotaryRequest[];
  /** Statuses for the next requests, in order; 202 when empty. */
  answers: number[];
  close(): Promise<void>;
}

/** Starts the service with its files in `dir`. */
export async function startNotary(dir: string, token = 's3cret-token'): Promise<NotaryService> {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'notary-ca.key', '-out', 'notary-ca.pem', '-days', '2', '-subj', '/CN=test ca');
  for (const [name, cn, ext] of [
    ['notary-server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['notary-client', 'berth-ci', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'notary-ca.pem', '-CAkey', 'notary-ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const secretFile = join(dir, 'notary-creds.json');
  writeFileSync(secretFile, JSON.stringify({ certData: Buffer.from(read('notary-client.pem')).toString('base64'), privateKeyData: Buffer.from(read('notary-client.key')).toString('base64') }));
  const seen: NotaryRequest[] = [];
  const answers: number[] = [];
  const server: Server = createServer({ key: read('notary-server.key'), cert: read('notary-server.pem'), ca: read('notary-ca.pem'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.push({ body, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), ...(socket.authorized && peer?.subject ? { clientCN: String(peer.subject.CN) } : {}) });
      const ok = socket.authorized || req.headers.authorization === `Bearer ${token}`;
      res.statusCode = ok ? (answers.shift() ?? 202) : 401;
      res.end(res.statusCode === 202 ? '' : `{"error":"status ${res.statusCode}"}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/sign`,
    ca: join(dir, 'notary-ca.pem'),
    secretFile,
    token,
    seen,
    answers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
