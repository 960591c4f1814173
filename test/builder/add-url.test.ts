import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyEntries, DEFAULT_FETCH_LIMITS, redactUrl } from '../../src/builder/copy-instruction.js';
import { FsTree } from '../../src/builder/rootfs.js';
import { OperationalError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/tools.js';

/**
 * ADD <url> goes through berth's HTTP stack and retry policy (registry/http.ts, retry.ts):
 * redirects followed with credentials kept to their origin, temporary answers tried again,
 * refusals once, each failure one line that never shows the password.
 */
let dir: string;
let cleanup: () => Promise<void>;
const body = 'the tool\n';
const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
const seen: { url: string; authorization: string | undefined }[] = [];
let flaky = 0;
let main: Server;
let other: Server;
let base: string;
let otherBase: string;

function listen(s: Server): Promise<string> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}
const record = (url: string | undefined, h: IncomingHttpHeaders) => seen.push({ url: url ?? '', authorization: h.authorization });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-add-url-'));
  other = createServer((req, res) => {
    record(`other${req.url}`, req.headers);
    res.end(body);
  });
  otherBase = await listen(other);
  main = createServer((req, res) => {
    record(req.url, req.headers);
    if (req.url === '/file') res.end(body);
    else if (req.url === '/here') res.writeHead(302, { location: '/file' }).end();
    else if (req.url === '/away') res.writeHead(307, { location: `${otherBase}/file` }).end();
    else if (req.url === '/flaky') res.writeHead(flaky++ < 2 ? 503 : 200).end(body);
    else if (req.url === '/loop') res.writeHead(301, { location: '/loop' }).end();
    else res.writeHead(404).end('no');
  });
  base = await listen(main);
});
afterAll(async () => {
  for (const s of [main, other]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await cleanup();
});

async function add(url: string, checksum = sum): Promise<string> {
  const step = { kind: 'copy' as const, add: true, line: 2, from: { kind: 'build-context' as const }, sources: [url], inline: [], dest: '/x', destIsDir: false, checksum };
  const entries = await copyEntries({ step, file: 'Dockerfile', from: new FsTree('context'), target: new FsTree('rootfs'), epoch: 0, work: dir, fetchLimits: { retry: { baseDelayMs: 1, maxDelayMs: 2 } } });
  const file = entries.find((e) => e.path === 'x');
  expect(file).toBeDefined();
  return readFile(join(dir, `download-2-0`), 'utf8');
}

describe('ADD <url> through registry/http.ts', () => {
  it('follows a redirect on the same origin with the URL credentials, and one to another origin without them', async () => {
    seen.length = 0;
    expect(await add(`${base.replace('//', '//u:pw@')}/here`)).toBe(body);
    const basic = `Basic ${Buffer.from('u:pw').toString('base64')}`;
    expect(seen).toEqual([{ url: '/here', authorization: basic }, { url: '/file', authorization: basic }]);
    seen.length = 0;
    expect(await add(`${base.replace('//', '//u:pw@')}/away`)).toBe(body);
    expect(seen).toEqual([{ url: '/away', authorization: basic }, { url: 'other/file', authorization: undefined }]);
  });

  it('tries a 503 again and succeeds', async () => {
    flaky = 0;
    expect(await add(`${base}/flaky`)).toBe(body);
    expect(flaky).toBe(3);
  });

  it('a 404 is asked once and is one line naming the status, the password hidden', async () => {
    seen.length = 0;
    await expect(add(`${base.replace('//', '//u:secret@')}/missing`)).rejects.toThrow(new RegExp(`^ADD ${base.replace('//', '//\\*\\*\\*@')}/missing: the server answered 404$`));
    expect(seen.map((s) => s.url)).toEqual(['/missing']);
  });

  it('a redirect loop and a refused connection fail with one line each', async () => {
    await expect(add(`${base}/loop`)).rejects.toThrow(`ADD ${base}/loop: cannot fetch (more than 20 redirects)`);
    await expect(add('http://127.0.0.1:1/x')).rejects.toThrow(/^ADD http:\/\/127\.0\.0\.1:1\/x: cannot fetch \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/);
  });
});

describe('ADD <url>: names, limits, statuses and redirects, each failure one line', () => {
  const text = 'the tool\n';
  const textSum = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  const hits = new Map<string, number>();
  const auths: (string | undefined)[] = [];
  const agents: (string | undefined)[] = [];
  let srv: Server;
  let at: string;
  let n = 0;

  beforeAll(async () => {
    srv = createServer((req, res) => {
      const url = req.url ?? '';
      const hit = (hits.get(url) ?? 0) + 1;
      hits.set(url, hit);
      auths.push(req.headers.authorization);
      agents.push(req.headers['user-agent']);
      const chain = /^\/r\/(\d+)$/.exec(url);
      const status = /^\/status\/(\d+)$/.exec(url);
      const once = /^\/once\/(\d+)$/.exec(url);
      if (chain) {
        const left = Number(chain[1]);
        if (left === 0) res.end(text);
        else res.writeHead(302, { location: `/r/${left - 1}` }).end();
      } else if (status) res.writeHead(Number(status[1]), { location: '/file' }).end(text);
      else if (once) res.writeHead(hit === 1 ? Number(once[1]) : 200).end(text);
      else if (url === '/file' || url === '/' || url === '/dir/name.txt?q=1') res.end(text);
      else if (url === '/second') res.end('second');
      else if (url === '/299') res.writeHead(299).end(text);
      else if (url === '/303' || url === '/308') res.writeHead(Number(url.slice(1)), { location: `${at}/file` }).end();
      else if (url === '/no-location') res.writeHead(302).end(text);
      else if (url === '/to-ftp') res.writeHead(302, { location: 'ftp://127.0.0.1/x' }).end();
      else if (url === '/to-xhttp') res.writeHead(302, { location: 'xhttp://127.0.0.1/x' }).end();
      else if (url === '/to-https') res.writeHead(302, { location: 'https://127.0.0.1:1/x' }).end();
      else if (url === '/wait-long') res.writeHead(429, { 'retry-after': '3600' }).end();
      else if (url === '/wait-none') res.writeHead(hit === 1 ? 429 : 200, { 'retry-after': '0' }).end(text);
      else if (url === '/chunked') {
        res.write(text.slice(0, 4));
        res.end(text.slice(4));
      } else if (url === '/silent-head') {
        // never answers
      } else if (url === '/silent-body') {
        res.writeHead(200, { 'content-length': String(text.length) });
        res.flushHeaders();
      } else if (url === '/cut') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('12345', () => res.destroy());
      } else res.writeHead(404).end();
    });
    at = await listen(srv);
  });
  afterAll(async () => {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });

  /** The entries of `ADD --checksum=… <urls> <dest>` (line 3), in a fresh work folder. */
  async function fetchTo(urls: string[], more: { dest?: string; destIsDir?: boolean; checksum?: string; maxBytes?: number; idleMs?: number; retries?: number; timeoutRetries?: number } = {}) {
    const work = join(dir, `w${n++}`);
    await mkdir(work);
    const step = { kind: 'copy' as const, add: true, line: 3, from: { kind: 'build-context' as const }, sources: urls, inline: [], dest: more.dest ?? '/x', destIsDir: more.destIsDir ?? false, checksum: more.checksum ?? textSum };
    const retry = { retries: more.retries ?? 1, timeoutRetries: more.timeoutRetries ?? 0, baseDelayMs: 1, maxDelayMs: 2 };
    const entries = await copyEntries({ step, file: 'Dockerfile', from: new FsTree('context'), target: new FsTree('rootfs'), epoch: 0, work, fetchLimits: { retry, ...(more.maxBytes !== undefined ? { maxBytes: more.maxBytes } : {}), ...(more.idleMs !== undefined ? { idleMs: more.idleMs } : {}) } });
    return { work, entries };
  }
  /** The error a fetch ends in: its class, exit code and one line. */
  async function failing(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      if (err instanceof OperationalError) return `exit ${err.exitCode} ${err.code}: ${err.message}`;
      if (err instanceof UsageError) return `exit ${err.exitCode}: ${err.message}`;
      throw err;
    }
    throw new Error('expected an error');
  }
  const reset = () => {
    hits.clear();
    auths.length = 0;
    agents.length = 0;
  };

  it('writes a file 0600 root-owned named by the URL path (index.html for /), each download its own file', async () => {
    const { work, entries } = await fetchTo([`${at}/dir/name.txt?q=1`, `${at}/`], { dest: '/x/', destIsDir: true });
    expect(entries).toEqual([
      { path: 'x/name.txt', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 0, size: text.length, source: join(work, 'download-3-0') },
      { path: 'x/index.html', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 0, size: text.length, source: join(work, 'download-3-1') },
      { path: 'x', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
    ]);
    expect(await readFile(join(work, 'download-3-1'), 'utf8')).toBe(text);
    const one = await fetchTo([`${at}/file`]);
    expect(one.entries.map((e) => [e.path, e.type, e.mode, e.size])).toEqual([['x', 'file', 0o600, text.length]]);
  });

  it('refuses content that is not the --checksum, once and not again, the password hidden', async () => {
    reset();
    const wrong = `sha256:${'0'.repeat(64)}`;
    expect(await failing(fetchTo([`${at.replace('//', '//u:secret@')}/file`], { checksum: wrong }))).toBe(`exit 2: Dockerfile:3: ADD: ${at.replace('//', '//***@')}/file: its content is ${textSum}, not the --checksum ${wrong}`);
    expect(hits.get('/file')).toBe(1);
  });

  it('sends a user alone, a password alone and %-escaped ones as Basic auth, and says it is berth', async () => {
    for (const [cred, plain] of [['u@', 'u:'], [':pw@', ':pw'], ['u%40x:p%3Aw@', 'u@x:p:w']] as const) {
      reset();
      await fetchTo([`${at.replace('//', `//${cred}`)}/file`]);
      expect(auths).toEqual([`Basic ${Buffer.from(plain).toString('base64')}`]);
    }
    reset();
    await fetchTo([`${at}/file`]);
    expect(auths).toEqual([undefined]);
    expect(agents).toEqual(['berth']);
  });

  it('takes a body of exactly the size limit, stated or not, and refuses one byte more either way', async () => {
    const size = text.length;
    expect((await fetchTo([`${at}/file`], { maxBytes: size })).entries[0]!.size).toBe(size);
    expect((await fetchTo([`${at}/chunked`], { maxBytes: size })).entries[0]!.size).toBe(size);
    expect(await failing(fetchTo([`${at}/file`], { maxBytes: size - 1 }))).toBe(`exit 2: Dockerfile:3: ADD: ${at}/file: the server sends ${size} bytes, more than the limit of ${size - 1}`);
    expect(await failing(fetchTo([`${at}/chunked`], { maxBytes: size - 1 }))).toBe(`exit 2: Dockerfile:3: ADD: ${at}/chunked: the server sent more than the limit of ${size - 1} bytes`);
  });

  it('takes any 2xx, follows 303 and 308, and takes a 3xx without a Location or a 300 for the answer it is (exit 1)', async () => {
    expect((await fetchTo([`${at}/299`])).entries[0]!.size).toBe(text.length);
    for (const s of ['/303', '/308']) {
      reset();
      expect((await fetchTo([`${at}${s}`])).entries[0]!.size).toBe(text.length);
      expect([...hits.keys()]).toEqual([s, '/file']);
    }
    reset();
    expect(await failing(fetchTo([`${at}/no-location`]))).toBe(`exit 1 NETWORK: ADD ${at}/no-location: the server answered 302`);
    expect(await failing(fetchTo([`${at}/status/300`]))).toBe(`exit 1 NETWORK: ADD ${at}/status/300: the server answered 300`);
    expect([...hits.entries()]).toEqual([['/no-location', 1], ['/status/300', 1]]);
  });

  it('follows 20 redirects and refuses the 21st, asking no more', async () => {
    reset();
    expect((await fetchTo([`${at}/r/20`])).entries[0]!.size).toBe(text.length);
    expect(hits.size).toBe(21);
    reset();
    expect(await failing(fetchTo([`${at}/r/21`]))).toBe(`exit 1 NETWORK: ADD ${at}/r/21: cannot fetch (more than 20 redirects)`);
    expect([...hits.values()].reduce((a, b) => a + b)).toBe(21);
  });

  it('follows a redirect to https but to no other scheme', async () => {
    expect(await failing(fetchTo([`${at}/to-ftp`]))).toBe(`exit 1 NETWORK: ADD ${at}/to-ftp: cannot fetch (redirected to ftp:)`);
    expect(await failing(fetchTo([`${at}/to-xhttp`]))).toBe(`exit 1 NETWORK: ADD ${at}/to-xhttp: cannot fetch (redirected to xhttp:)`);
    expect(await failing(fetchTo([`${at}/to-https`], { retries: 0 }))).toBe(`exit 1 NETWORK: ADD ${at}/to-https: cannot fetch (connect ECONNREFUSED 127.0.0.1:1)`);
  });

  it('tries 408, 429 and 5xx again, a 4xx never, and gives up with the last status', async () => {
    for (const s of [408, 429, 500, 503]) {
      reset();
      expect((await fetchTo([`${at}/once/${s}`])).entries[0]!.size).toBe(text.length);
      expect(hits.get(`/once/${s}`)).toBe(2);
    }
    for (const [s, tries] of [[400, 1], [403, 1], [500, 3], [599, 3]] as const) {
      reset();
      expect(await failing(fetchTo([`${at}/status/${s}`], { retries: 2 }))).toBe(`exit 1 NETWORK: ADD ${at}/status/${s}: the server answered ${s}`);
      expect(hits.get(`/status/${s}`)).toBe(tries);
    }
  });

  it('waits as Retry-After says, and gives up at once when it asks for an hour', async () => {
    reset();
    expect((await fetchTo([`${at}/wait-none`], { retries: 1 })).entries[0]!.size).toBe(text.length);
    expect(hits.get('/wait-none')).toBe(2);
    expect(await failing(fetchTo([`${at}/wait-long`], { retries: 3 }))).toBe(`exit 1 NETWORK: ADD ${at}/wait-long: the server answered 429`);
    expect(hits.get('/wait-long')).toBe(1);
  });

  it('gives up on a server silent before or after its headers, trying once more when told, and on a cut body', async () => {
    reset();
    expect(await failing(fetchTo([`${at}/silent-head`], { idleMs: 500 }))).toBe(`exit 1 NETWORK: ADD ${at}/silent-head: the server sent nothing for 1 s`);
    expect(await failing(fetchTo([`${at}/silent-body`], { idleMs: 500, timeoutRetries: 1 }))).toBe(`exit 1 NETWORK: ADD ${at}/silent-body: the server sent nothing for 1 s`);
    expect([...hits.entries()]).toEqual([['/silent-head', 1], ['/silent-body', 2]]);
    // A timeout is counted as one (timeoutRetries), not as an ordinary failure (retries).
    reset();
    expect(await failing(fetchTo([`${at}/silent-head`], { idleMs: 500, retries: 2, timeoutRetries: 1 }))).toBe(`exit 1 NETWORK: ADD ${at}/silent-head: the server sent nothing for 1 s`);
    expect(await failing(fetchTo([`${at}/silent-body`], { idleMs: 500, retries: 2, timeoutRetries: 0 }))).toBe(`exit 1 NETWORK: ADD ${at}/silent-body: the server sent nothing for 1 s`);
    expect([...hits.entries()]).toEqual([['/silent-head', 2], ['/silent-body', 1]]);
    expect(await failing(fetchTo([`${at}/cut`], { retries: 1 }))).toBe(`exit 1 NETWORK: ADD ${at}/cut: cannot fetch (aborted)`);
    expect(hits.get('/cut')).toBe(2);
  });
});

describe('ADD <url> defaults', () => {
  it('are those docs/dockerfile.md gives: 30 s without a byte, 1 GiB in all, the registry\'s retries', () => {
    expect(DEFAULT_FETCH_LIMITS).toEqual({ idleMs: 30_000, maxBytes: 1024 ** 3, retry: {} });
  });

  it('hide the user and password of any scheme, an empty one too, keeping the path', () => {
    expect(redactUrl('HTTPS://user:pw@host/p@q')).toBe('HTTPS://***@host/p@q');
    expect(redactUrl('s3+x.y-z://k@bucket/o')).toBe('s3+x.y-z://***@bucket/o');
    expect(redactUrl('https://@h/')).toBe('https://***@h/');
  });
});

describe('ADD <url> credentials on a redirect to the same origin written in full', () => {
  let srv: Server;
  let at: string;
  const seenHere: { url: string; authorization: string | undefined }[] = [];
  beforeAll(async () => {
    srv = createServer((req, res) => {
      seenHere.push({ url: req.url ?? '', authorization: req.headers.authorization });
      if (req.url === '/start') res.writeHead(302, { location: `${at}/file` }).end();
      else res.end(body);
    });
    at = await listen(srv);
  });
  afterAll(async () => {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });

  it('are sent again, the Location naming no user, a user with no password too', async () => {
    const step = { kind: 'copy' as const, add: true, line: 2, from: { kind: 'build-context' as const }, sources: [`${at.replace('//', '//u:pw@')}/start`], inline: [], dest: '/x', destIsDir: false, checksum: sum };
    const entries = await copyEntries({ step, file: 'Dockerfile', from: new FsTree('context'), target: new FsTree('rootfs'), epoch: 0, work: dir });
    expect(entries.map((e) => e.path)).toEqual(['x']);
    const basic = `Basic ${Buffer.from('u:pw').toString('base64')}`;
    expect(seenHere).toEqual([{ url: '/start', authorization: basic }, { url: '/file', authorization: basic }]);
    seenHere.length = 0;
    await copyEntries({ step: { ...step, sources: [`${at.replace('//', '//u@')}/start`] }, file: 'Dockerfile', from: new FsTree('context'), target: new FsTree('rootfs'), epoch: 0, work: dir });
    const user = `Basic ${Buffer.from('u:').toString('base64')}`;
    expect(seenHere).toEqual([{ url: '/start', authorization: user }, { url: '/file', authorization: user }]);
  });
});
