/**
 * A TLS handshake with a registry that speaks plain HTTP: berth's one line keeps the
 * --insecure-registry hint (OpenSSL's message ends in a newline, which cut it off).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkError } from '../../src/registry/registry-error.js';
import { reportError } from '../../src/cli/error-report.js';

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((_q, r) => r.end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a real OpenSSL error (https to a plain HTTP port): one line, ending in the hint', async () => {
  const url = new URL(`https://127.0.0.1:${port}/v2/`);
  const thrown = await new Promise<Error>((resolve) => request(url, { servername: 'registry.test' }).on('error', resolve).end());
  // What node gives: the message holds OpenSSL's newline.
  expect((thrown as NodeJS.ErrnoException).code).toBe('EPROTO');
  expect(thrown.message).toContain('\n');
  let stderr = '';
  const code = reportError(networkError('GET', url, thrown), { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: '/' } as never, { debug: false, json: false });
  expect(code).toBe(1);
  expect(stderr.split('\n')).toHaveLength(2);
  expect(stderr).toMatch(new RegExp(`^berth: GET https://127\\.0\\.0\\.1:${port}/v2/: TLS handshake with 127\\.0\\.0\\.1:${port} failed \\(.*wrong version number.*\\); if it speaks plain HTTP, use --insecure-registry 127\\.0\\.0\\.1:${port}\\n$`));
});
