import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyEntries } from '../../src/builder/copy-instruction.js';
import { FsTree } from '../../src/builder/rootfs.js';
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
