/**
 * Starts the real CNCF distribution registry (`docker-registry`, Debian's package) on
 * 127.0.0.1 with a free port and a temporary storage folder: anonymous, with htpasswd basic
 * auth, or with token auth whose realm is a small token server in the test process that
 * signs ES256 JWTs (x5c header) with a key and certificate made here by openssl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './tools.js';

/** A port nobody listens on right now (on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TokenRequest {
  method: string;
  user: string | undefined;
  scopes: string[];
  service: string | undefined;
  grantType?: string;
}

export interface TokenServerOptions {
  /** user → password accepted with Basic auth on the realm. */
  users: Record<string, string>;
  /** refresh token → user, for the OAuth2 POST flow (identity tokens). */
  refreshTokens?: Record<string, string>;
  /** Seconds a token lives, as told to the client (default 300). */
  expiresIn?: number;
  /** Anonymous requests: refused with 401 (default) or given a token granting nothing. */
  anonymous?: 'deny' | 'empty';
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certPath: string;
  /** Every token request, in order. */
  readonly requests: TokenRequest[];
  /** Every token issued (to check none is ever printed). */
  readonly issued: string[];
  /** Seconds a new token lives, as told to the client. */
  expiresIn: number;
  /** The next `n` tokens are already expired (their `exp` long past) though the answer says they live. */
  expireNext(n: number): void;
  close(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function parseBasic(req: IncomingMessage): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return undefined;
  const s = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = s.indexOf(':');
  return i < 0 ? undefined : { user: s.slice(0, i), password: s.slice(i + 1) };
}

/** The small token server of the distribution token spec, signing what distribution 2.8 accepts. */
export async function startTokenServer(dir: string, opts: TokenServerOptions): Promise<TokenServer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=berth-test-token-issuer']);
  const key: KeyObject = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const requests: TokenRequest[] = [];
  const issued: string[] = [];
  let expireNext = 0;

  const issue = (user: string | undefined, scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const expired = expireNext > 0;
    if (expired) expireNext--;
    const access = user === undefined ? [] : scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: expired ? now - 3600 : now + server.expiresIn,
      nbf: expired ? now - 7200 : now - 10,
      iat: expired ? now - 7200 : now,
      jti: `${now}-${Math.random().toString(36).slice(2)}`,
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    issued.push(token);
    return { token, expires_in: server.expiresIn, issued_at: new Date(now * 1000).toISOString() };
  };

  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let user: string | undefined;
      let scopes: string[];
      let grantType: string | undefined;
      let svc: string | undefined;
      let denied = false;
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        grantType = form.get('grant_type') ?? undefined;
        svc = form.get('service') ?? undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
        denied = user === undefined;
      } else {
        svc = url.searchParams.get('service') ?? undefined;
        scopes = url.searchParams.getAll('scope');
        const basic = parseBasic(req);
        if (basic) {
          if (opts.users[basic.user] !== basic.password) denied = true;
          else user = basic.user;
        } else if ((opts.anonymous ?? 'deny') === 'deny') denied = true;
      }
      requests.push({ method: req.method ?? 'GET', user, scopes, service: svc, ...(grantType ? { grantType } : {}) });
      if (denied) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(issue(user, scopes)));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as { port: number }).port;
  const server: TokenServer = {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    issued,
    expiresIn: opts.expiresIn ?? 300,
    expireNext: (n) => {
      expireNext = n;
    },
    close: () => new Promise((r) => http.close(() => r())),
  };
  return server;
}

export type RegistryAuth = { htpasswd: { user: string; password: string } } | { token: TokenServerOptions };

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as written in references. */
  readonly host: string;
  readonly port: number;
  /** The registry's storage folder. */
  readonly storage: string;
  readonly token?: TokenServer;
  stop(): Promise<void>;
}

/** Starts docker-registry; resolves once it answers on /v2/. */
export async function startRegistry(opts: { auth?: RegistryAuth } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  let auth = '';
  let token: TokenServer | undefined;
  if (opts.auth && 'htpasswd' in opts.auth) {
    const line = await run('htpasswd', ['-nbB', opts.auth.htpasswd.user, opts.auth.htpasswd.password]);
    await writeFile(join(dir, 'htpasswd'), line.trim() + '\n');
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (opts.auth && 'token' in opts.auth) {
    token = await startTokenServer(dir, opts.auth.token);
    auth = `auth:\n  token:\n    realm: ${token.realm}\n    service: ${token.service}\n    issuer: ${token.issuer}\n    rootcertbundle: ${token.certPath}\n`;
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: berth-test-${port}`,
    auth,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    storage: join(dir, 'data'),
    ...(token ? { token } : {}),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await token?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A docker config folder holding `auths` for `host` (pass as DOCKER_CONFIG). */
export async function dockerConfig(dir: string, host: string, user: string, password: string): Promise<string> {
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
  return dir;
}
