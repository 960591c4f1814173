import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from '../helpers/tools.js';
import { coversScopes, parseChallenge, renewalTime } from '../../src/registry/auth.js';
import { ByteTaker } from '../../src/registry/bytes.js';
import { findCredential, normaliseHost } from '../../src/registry/credentials.js';
import { redactUrl, RegistryError } from '../../src/registry/registry-error.js';
import { BlobLocations } from '../../src/registry/locations.js';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, withRetries } from '../../src/registry/retry.js';
import { parseAnyLocation } from '../../src/transport/location.js';
import { fitLine, progressRenderer } from '../../src/cli/progress.js';
import { parseLeanPush } from '../../src/cli/lean-push.js';
import type { Digest } from '../../src/oci/digest.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-regunit-'));
});
afterAll(async () => cleanup());

describe('WWW-Authenticate challenges', () => {
  test.each([
    [undefined, { scheme: 'none' }],
    ['Basic realm="Registry Realm"', { scheme: 'basic', realm: 'Registry Realm' }],
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io"', { scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io' }],
    [
      'Bearer realm="https://a/token",service="reg",scope="repository:x/y:pull,push",error="insufficient_scope"',
      { scheme: 'bearer', realm: 'https://a/token', service: 'reg', scope: 'repository:x/y:pull,push', error: 'insufficient_scope' },
    ],
    ['Basic realm="b", Bearer realm="https://t/x",service=s', { scheme: 'bearer', realm: 'https://t/x', service: 's' }],
    ['bearer realm=https://t/unquoted', { scheme: 'bearer', realm: 'https://t/unquoted' }],
    ['Negotiate', { scheme: 'none' }],
  ])('%s', (header, want) => {
    expect(parseChallenge(header)).toEqual(want);
  });

  test('a token for pull,push on a repository serves pull on it, not on another', () => {
    expect(coversScopes(['repository:a/b:pull,push'], ['repository:a/b:pull'])).toBe(true);
    expect(coversScopes(['repository:a/b:pull'], ['repository:a/b:pull,push'])).toBe(false);
    expect(coversScopes(['repository:a/b:pull,push'], ['repository:a/b:pull,push', 'repository:c:pull'])).toBe(false);
    expect(coversScopes(['repository:c:pull', 'repository:a/b:pull,push'], ['repository:a/b:pull,push', 'repository:c:pull'])).toBe(true);
  });

  test('tokens are renewed a little before they expire; the spec\'s 60 s when the server says nothing', () => {
    const now = 1_700_000_000_000;
    expect(renewalTime(now, 300, undefined)).toBe(now + 290_000);
    expect(renewalTime(now, undefined, undefined)).toBe(now + 54_000);
    expect(renewalTime(now, 300, new Date(now - 30_000).toISOString())).toBe(now - 30_000 + 290_000);
    // issued_at from a clock far off is not trusted
    expect(renewalTime(now, 300, new Date(now - 3_600_000).toISOString())).toBe(now + 290_000);
  });
});

describe('redaction', () => {
  test('query values other than harmless ones, and user-info, never show', () => {
    expect(redactUrl('https://u:p@reg.io/v2/x/blobs/uploads/1?_state=SECRET&digest=sha256:abc')).toBe('https://reg.io/v2/x/blobs/uploads/1?_state=REDACTED&digest=sha256:abc');
    expect(redactUrl('https://s3.example/bucket/blob?X-Amz-Signature=zzz&X-Amz-Credential=kkk')).toBe('https://s3.example/bucket/blob?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED');
    expect(redactUrl('https://auth/token?service=reg&scope=repository:a/b:pull&refresh_token=rt')).toBe('https://auth/token?service=reg&scope=repository:a/b:pull&refresh_token=REDACTED');
  });
});

describe('retries', () => {
  const policy = { ...DEFAULT_RETRY, retries: 3, baseDelayMs: 1, maxDelayMs: 4 };
  const temporary = (retryAfterMs?: number) =>
    new RegistryError('REGISTRY', 'PUT x answered 503', { method: 'PUT', url: 'x', status: 503, registryCodes: [], temporary: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

  test('temporary failures are tried again up to the bound, then raised saying how many tries', async () => {
    let calls = 0;
    const seen: number[] = [];
    const err = await withRetries(policy, 'blob', async () => {
      calls++;
      throw temporary();
    }, { onRetry: (i) => seen.push(i.attempt) }).catch((e: unknown) => e as RegistryError);
    expect(calls).toBe(4);
    expect(seen).toEqual([1, 2, 3]);
    expect(err.message).toBe('gave up after 4 tries: PUT x answered 503');
    expect(err.temporary).toBe(false);
    expect(err.code).toBe('REGISTRY');
  });

  test('a permanent failure is raised at once; a success after failures is returned', async () => {
    let calls = 0;
    await expect(withRetries(policy, 'x', async () => {
      calls++;
      throw new RegistryError('UNAUTHORIZED', 'no', { method: 'GET', url: 'x', status: 401, registryCodes: [], temporary: false });
    })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(calls).toBe(1);
    let n = 0;
    expect(await withRetries(policy, 'x', async () => (++n < 3 ? Promise.reject(temporary()) : 'ok'))).toBe('ok');
  });

  test('Retry-After is honoured; one beyond the cap gives up at once', async () => {
    const delays: number[] = [];
    let n = 0;
    await withRetries(policy, 'x', async () => (++n < 2 ? Promise.reject(temporary(30)) : 'ok'), { onRetry: (i) => delays.push(i.delayMs) });
    expect(delays).toEqual([30]);
    await expect(withRetries({ ...policy, maxRetryAfterMs: 1000 }, 'x', async () => Promise.reject(temporary(5000)))).rejects.toThrow(
      'gave up after 1 try: the registry asked to wait 5 s: PUT x answered 503',
    );
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  test('the budget is per request: each request of an operation has its own tries', async () => {
    // POST fails 3 times, then PUT fails 3 times: 6 failures in one operation, 3 per request.
    let n = 0;
    const got = await withRetries(policy, 'blob', async (budget) => {
      n++;
      budget.step('POST');
      if (n <= 3) throw temporary();
      budget.progress();
      budget.step('PUT');
      if (n <= 6) throw temporary();
      return 'ok';
    });
    expect(got).toBe('ok');
    expect(n).toBe(7);
    // One request failing a fourth time after three retries gives up, naming its tries.
    let m = 0;
    const err = await withRetries(policy, 'blob', async (budget) => {
      m++;
      budget.step('POST');
      budget.progress();
      budget.step('PUT');
      throw temporary();
    }).catch((e: unknown) => e as RegistryError);
    expect(m).toBe(4);
    expect(err.message).toBe('gave up after 4 tries: PUT x answered 503');
  });

  test('no try starts once the operation has made no progress for the deadline', async () => {
    let n = 0;
    const err = await withRetries({ ...policy, retries: 20, deadlineMs: 0 }, 'x', async () => {
      n++;
      throw temporary();
    }).catch((e: unknown) => e as RegistryError);
    expect(n).toBe(1);
    expect(err.message).toMatch(/^gave up after 1 try: no progress for \d+ s: PUT x answered 503$/);
  });

  test('a timed-out request is tried again only timeoutRetries times', async () => {
    let n = 0;
    const timedOut = () => new RegistryError('NETWORK', 'GET x: silent', { method: 'GET', url: 'x', registryCodes: [], temporary: true }, { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) });
    await expect(withRetries({ ...policy, timeoutRetries: 1 }, 'x', async () => {
      n++;
      throw timedOut();
    })).rejects.toThrow('gave up after 2 tries: GET x: silent');
    expect(n).toBe(2);
  });

  test('a timeout after an earlier 5xx still gets its one more try (issue 20): 5xx, timeout, timeout is three tries', async () => {
    let n = 0;
    const timedOut = () => new RegistryError('NETWORK', 'GET x: silent', { method: 'GET', url: 'x', registryCodes: [], temporary: true }, { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) });
    const unavailable = () => new RegistryError('REGISTRY', 'GET x answered 503', { method: 'GET', url: 'x', status: 503, registryCodes: [], temporary: true });
    await expect(withRetries({ ...policy, timeoutRetries: 1 }, 'x', async () => {
      n++;
      throw n === 1 ? unavailable() : timedOut();
    })).rejects.toThrow('gave up after 3 tries: GET x: silent');
    expect(n).toBe(3);
    n = 0;
    await expect(withRetries({ ...policy, timeoutRetries: 1 }, 'x', async () => {
      n++;
      if (n === 1) throw unavailable();
      if (n === 2) throw timedOut();
      return 'ok';
    })).resolves.toBe('ok');
  });

  test('backoff doubles, is capped, and has jitter within [half, full]', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(p, a, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(p, a, () => 1))).toEqual([100, 200, 400, 800, 1000]);
  });
});

describe('credentials', () => {
  test('hosts are matched exactly after normalising scheme, path and Docker Hub\'s names', async () => {
    expect(normaliseHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseHost('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseHost('http://Quay.IO')).toBe('quay.io');
    const cfg = join(dir, 'creds');
    await mkdir(cfg, { recursive: true });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await writeFile(
      join(cfg, 'config.json'),
      JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:hubpw') }, 'quay.io': { username: 'q', password: 'qpw' }, 'ghcr.io:5000': { auth: b64('g:gpw') } } }),
    );
    const env = { DOCKER_CONFIG: cfg };
    expect(await findCredential('docker.io', env)).toEqual({ username: 'hub', password: 'hubpw', source: '$DOCKER_CONFIG/config.json' });
    expect(await findCredential('quay.io', env)).toEqual({ username: 'q', password: 'qpw', source: '$DOCKER_CONFIG/config.json' });
    expect(await findCredential('ghcr.io', env)).toBeUndefined();
    expect(await findCredential('evil-quay.io', env)).toBeUndefined();
    expect(await findCredential('quay.io.evil.com', env)).toBeUndefined();
  });

  test('a broken config.json is a usage error that does not quote it', async () => {
    const cfg = join(dir, 'broken');
    await mkdir(cfg, { recursive: true });
    await writeFile(join(cfg, 'config.json'), '{"auths": {"x": {"auth": "c2VjcmV0OnB3"}');
    const err = await findCredential('x', { DOCKER_CONFIG: cfg }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'UNREADABLE', exitCode: 2, message: '$DOCKER_CONFIG/config.json: is not valid JSON; fix or remove it' });
  });
});

describe('where an image is: parseAnyLocation', () => {
  test.each([
    ['docker://alpine', 'registry', 'docker.io/library/alpine:latest'],
    ['docker://out/x.tar', 'registry', 'docker.io/out/x.tar:latest'],
    ['quay.io/org/app:v1', 'registry', 'quay.io/org/app:v1'],
    ['localhost/app', 'registry', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b@sha256:' + 'a'.repeat(64), 'registry', '127.0.0.1:5000/a/b@sha256:' + 'a'.repeat(64)],
    ['out/x.tar', 'tarball', 'out/x.tar'],
    ['build.out/img.tar', 'tarball', 'build.out/img.tar'],
    ['./quay.io/org/app', 'tarball', 'quay.io/org/app'],
    ['alpine', 'tarball', 'alpine'],
    ['oci:dist:quay.io/x/y:v1', 'layout', 'dist'],
  ])('%s is a %s', (text, kind, what) => {
    const loc = parseAnyLocation(text, dir, 'image');
    expect(loc.kind).toBe(kind);
    if (loc.kind === 'registry') expect(`${loc.ref.registry}/${loc.ref.repository}${loc.ref.tag ? `:${loc.ref.tag}` : ''}${loc.ref.digest ? `@${loc.ref.digest}` : ''}`).toBe(what);
    else expect(loc.kind === 'tarball' ? loc.path : loc.dir).toBe(join(dir, what));
  });

  test('a path that exists locally is never taken for a reference', async () => {
    await mkdir(join(dir, 'registry.local'), { recursive: true });
    await writeFile(join(dir, 'registry.local', 'img'), 'x');
    expect(parseAnyLocation('registry.local/img', dir, 'image')).toEqual({ kind: 'tarball', path: join(dir, 'registry.local', 'img') });
  });
});

describe('blob locations (for mounts)', () => {
  test('remembered across runs per host, most recent repository first', async () => {
    const d = 'sha256:' + 'b'.repeat(64) as Digest;
    const a = await BlobLocations.load(join(dir, 'cache'), '127.0.0.1:5000');
    a.add(d, 'one');
    a.add(d, 'two');
    await a.save();
    const b = await BlobLocations.load(join(dir, 'cache'), '127.0.0.1:5000');
    expect(b.reposFor(d)).toEqual(['two', 'one']);
    expect((await BlobLocations.load(join(dir, 'cache'), '127.0.0.1:5001')).reposFor(d)).toEqual([]);
  });
});

describe('ByteTaker (chunk bodies from one stream)', () => {
  const collect = async (r: Readable) => Buffer.concat(await r.toArray()).toString();
  test('slices exactly, across source chunk boundaries, after skipping', async () => {
    const t = new ByteTaker(Readable.from([Buffer.from('abc'), Buffer.from('defgh'), Buffer.from('ij')]), 2);
    expect(await collect(t.take(4))).toBe('cdef');
    expect(await collect(t.take(3))).toBe('ghi');
    expect(await collect(t.take(1))).toBe('j');
    await t.finish();
  });
  test('finish fails when bytes remain', async () => {
    const t = new ByteTaker(Readable.from([Buffer.from('abc')]));
    await collect(t.take(2));
    await expect(t.finish()).rejects.toThrow('more bytes than its descriptor says');
  });
});

describe('progress rendering', () => {
  const d1 = 'sha256:' + '1'.repeat(64) as Digest;
  const d2 = 'sha256:' + '2'.repeat(64) as Digest;
  const MiB = 1 << 20;

  test.each([200, 80, 59, 40, 20])('on a TTY %i columns wide: every line fits, a line per transfer and a total, summaries left', async (columns) => {
    let out = '';
    let clock = 0;
    const p = progressRenderer({ write: (s: string) => (out += s), columns }, { tty: true, verb: 'pushing', now: () => clock });
    await p.ready;
    p.reporter({ type: 'plan', group: 'linux/amd64', blobs: 2, bytes: 100 * MiB });
    clock = 2000;
    p.reporter({ type: 'bytes', group: 'linux/amd64', digest: d1, size: 90 * MiB, done: 40 * MiB });
    p.reporter({ type: 'blob', group: 'linux/amd64', digest: d2, size: 10 * MiB, how: 'mounted' });
    clock = 2200;
    p.reporter({ type: 'plan', group: 'linux/arm64', blobs: 1, bytes: MiB });
    const live = out.split(/\x1b\[[0-9;?]*[A-Za-z]/).join('').split('\n').filter(Boolean);
    for (const l of live) expect(l.length).toBeLessThan(columns);
    // log-update rewrites only the lines that changed: each line drawn is one of these.
    expect(live.some((l) => l.startsWith(`  linux/amd64 ${'111111111111'.slice(0, columns - 15)}`))).toBe(true);
    expect(live.at(-1)).toMatch(/^pushing/);
    if (columns >= 80) expect(live.at(-1)).toMatch(/^pushing  \[#+\.+\]  50\.0\/101\.0 MiB  1\/3 blobs  18\.2 MiB\/s  3s left$/);
    if (columns < 60) expect(live.join('\n')).not.toContain('[#');
    p.reporter({ type: 'blob', group: 'linux/amd64', digest: d1, size: 90 * MiB, how: 'uploaded' });
    p.done();
    expect(out).toContain('berth: pushing linux/amd64: 2 blobs, 100.0 MiB (1 uploaded, 1 mounted)\n');
    expect(out).toContain('berth: pushing linux/arm64: 1 blobs, 1.0 MiB\n');
    expect(out.match(/done/g)).toHaveLength(1);
  });

  test('a line is cut to the width: the bar goes first, then the fields from the last', () => {
    expect(fitLine('pushing', 0.5, ['1.0/2.0 MiB', '1/2 blobs', '3.0 MiB/s'], 80)).toBe('pushing  [###############...............]  1.0/2.0 MiB  1/2 blobs  3.0 MiB/s');
    expect(fitLine('pushing', 0.5, ['1.0/2.0 MiB', '1/2 blobs', '3.0 MiB/s'], 50)).toBe('pushing  1.0/2.0 MiB  1/2 blobs  3.0 MiB/s');
    expect(fitLine('pushing', 0.5, ['1.0/2.0 MiB', '1/2 blobs', '3.0 MiB/s'], 34)).toBe('pushing  1.0/2.0 MiB  1/2 blobs');
    expect(fitLine('pushing', 0.5, ['1.0/2.0 MiB'], 5)).toBe('push');
  });

  test('not on a TTY: periodic plain lines, a line per retry, a summary per image', async () => {
    let out = '';
    const p = progressRenderer({ write: (s: string) => (out += s) }, { tty: false, verb: 'pushing', intervalMs: 20 });
    p.reporter({ type: 'plan', group: 'linux/amd64', blobs: 2, bytes: 4 * MiB });
    p.reporter({ type: 'bytes', group: 'linux/amd64', digest: d1, size: 3 * MiB, done: MiB });
    p.reporter({ type: 'retry', what: `blob ${d1}`, attempt: 1, delayMs: 500, reason: 'PUT x answered 503' });
    await new Promise((r) => setTimeout(r, 50));
    p.reporter({ type: 'blob', group: 'linux/amd64', digest: d1, size: 3 * MiB, how: 'uploaded' });
    p.reporter({ type: 'blob', group: 'linux/amd64', digest: d2, size: MiB, how: 'mounted' });
    p.done();
    const lines = out.trim().split('\n');
    expect(lines.shift()).toBe('berth: pushing linux/amd64: 2 blobs, 4.0 MiB');
    expect(lines[0]).toBe('berth: retrying blob sha256:111111111111 in 0.5 s (try 2): PUT x answered 503');
    expect(lines[1]).toMatch(/^berth: pushing linux\/amd64: 1\.0 MiB of 4\.0 MiB \(25%\), \d+\.\d MiB\/s$/);
    expect(lines.slice(-3)).toEqual([
      'berth: pushing linux/amd64: sha256:111111111111 3.0 MiB uploaded',
      'berth: pushing linux/amd64: sha256:222222222222 1.0 MiB mounted (not uploaded)',
      'berth: pushing linux/amd64: 2 blobs, 4.0 MiB (1 uploaded, 1 mounted)',
    ]);
    expect(out).not.toContain('\x1b[');
  });

  test('the closing summaries go by image name, whichever push started first (a release pushes components at once)', async () => {
    let out = '';
    const p = progressRenderer({ write: (s: string) => (out += s) }, { tty: false, quiet: true, verb: 'releasing' });
    for (const group of ['ns/webhook linux/arm64', 'ns/controller linux/arm64', 'ns/webhook linux/amd64', 'ns/controller linux/amd64']) {
      p.reporter({ type: 'plan', group, blobs: 1, bytes: MiB });
      p.reporter({ type: 'blob', group, digest: d1, size: MiB, how: 'uploaded' });
    }
    p.done();
    expect(out.trim().split('\n')).toEqual(['ns/controller linux/amd64', 'ns/controller linux/arm64', 'ns/webhook linux/amd64', 'ns/webhook linux/arm64'].map((g) => `berth: releasing ${g}: 1 blobs, 1.0 MiB (1 uploaded)`));
  });
});

describe('the lean push entry reads flags as the full CLI does', () => {
  test('defaults and every transfer flag', () => {
    expect(parseLeanPush(['push', 'a.tar', 'r.io/x:v1'])).toEqual({ source: 'a.tar', target: 'r.io/x:v1', json: false, debug: false, jobs: 4, retries: 6, timeout: 30, quiet: false });
    expect(parseLeanPush(['push', '--jobs', '2', 'a.tar', '--insecure-registry', 'h:1', '--insecure-registry=h:2', 'r.io/x', '--quiet', '--json', '--debug', '--retries=0', '--cache-dir', 'c', '--timeout', '2.5'])).toEqual({
      source: 'a.tar', target: 'r.io/x', json: true, debug: true, jobs: 2, retries: 0, timeout: 2.5, quiet: true, 'insecure-registry': ['h:1', 'h:2'], 'cache-dir': 'c',
    });
  });
  test.each([[['push', '--help']], [['push', 'a']], [['push', 'a', 'b', 'c']], [['push', 'a', 'b', '--jobs', 'x']], [['push', 'a', 'b', '--nope']], [['pull', 'a', 'b']]])('%j goes to the full CLI', (argv) => {
    expect(parseLeanPush(argv)).toBeUndefined();
  });
});
