import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type LookupFunction, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { berth, berthBin } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';
import { isLoopbackAddress, RegistryClient } from '../../src/registry/client.js';
import { BlobStore } from '../../src/registry/blob-cache.js';
import { Registries } from '../../src/registry/pool.js';
import { readRegistry } from '../../src/transport/registry.js';
import { RegistryError } from '../../src/registry/registry-error.js';
import { verifyingStream } from '../../src/blob/verify-stream.js';
import type { Digest } from '../../src/oci/digest.js';
import { appImage, staticBase, testEnv } from './fixtures.js';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
const BLOB_UPLOAD = /\/blobs\/uploads\//;

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let proxy: FaultProxy;
let env: NodeJS.ProcessEnv;
let image: string;
let imageDigest: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-faults-'));
  reg = await startRegistry();
  proxy = await startFaultProxy({ target: reg.host });
  env = testEnv(dir);
  // An image with a 6 MiB layer of random bytes, so an upload can be cut part-way.
  const base = join(dir, 'base.tar');
  await staticBase(base);
  await writeFile(join(dir, 'random.bin'), randomBytes(6 << 20));
  image = join(dir, 'app.tar');
  const built = await appImage(base, image, env, ['--file', `${join(dir, 'random.bin')}:/data/random.bin`, '--compression-level', '0']);
  expect(built.code).toBe(0);
  imageDigest = built.digest;
  // What the read tests read, pushed here (not through the proxy) so no test depends on another.
  const fixture = await berth(['push', image, `${reg.host}/faults/fixture:v1`], { env: testEnv(join(dir, 'fixture-cache')) });
  expect(fixture.code).toBe(0);
});
afterAll(async () => {
  await proxy.close();
  await reg.stop();
  await cleanup();
});
beforeEach(() => {
  proxy.setFaults([]);
  proxy.setRandom(undefined);
  proxy.log.length = 0;
});

/** Pushes the image straight to the registry, as a test's own arrangement (no test reads what another pushed). */
async function given(repoTag: string): Promise<void> {
  const r = await berth(['push', image, `${reg.host}/${repoTag}`], { env });
  expect(r.stderr).toContain('berth: pushed');
}

/** skopeo copies the tag out of the registry (checking every digest) and reports the manifest digest. */
async function skopeoCheck(ref: string): Promise<string> {
  const dest = join(dir, `check-${Math.random().toString(36).slice(2)}`);
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${dest}`]);
  return sha256(await readFile(join(dest, 'manifest.json')));
}

async function tagExists(repo: string, tag: string): Promise<boolean> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return res.status === 200;
}

describe('berth push through a faulty network', () => {
  test('dropped uploads, 500, 503 and 429 with Retry-After: the push completes and every digest is right', async () => {
    proxy.setFaults([
      { method: 'GET', path: /^\/v2\/$/, times: 1, action: { kind: 'status', status: 503 } },
      { method: 'HEAD', path: /\/blobs\//, times: 2, action: { kind: 'status', status: 500 } },
      { method: 'POST', path: BLOB_UPLOAD, times: 1, action: { kind: 'reset' } },
      { method: 'PUT', path: BLOB_UPLOAD, times: 2, action: { kind: 'drop-request', afterBytes: 1 << 20 } },
      { method: 'PUT', path: /\/manifests\/v1$/, times: 1, action: { kind: 'status', status: 429, retryAfter: 1 } },
    ]);
    const start = Date.now();
    // A cache of its own: blobs other tests pushed would be mounted, not uploaded through the faults.
    const r = await berth(['push', image, `${proxy.host}/faults/app:v1`], { env: testEnv(join(dir, 'fresh-drops')) });
    expect(r.stderr).toContain(`berth: pushed ${imageDigest}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${imageDigest}\n`);
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000); // it waited as Retry-After said
    expect(proxy.log.filter((l) => l.fault).map((l) => `${l.method} ${l.fault}`).sort()).toEqual(['GET status', 'HEAD status', 'HEAD status', 'POST reset', 'PUT drop-request', 'PUT drop-request', 'PUT status'].sort());
    expect(r.stderr).toMatch(/berth: retrying tag v1 \(manifest sha256:[0-9a-f]{12}\) in 1\.0 s \(try 2\): PUT http:\/\/127\.0\.0\.1:\d+\/v2\/faults\/app\/manifests\/v1 answered 429 Too Many Requests \(TOOMANYREQUESTS: injected by the fault proxy\)\n/);
    expect(await skopeoCheck(`${reg.host}/faults/app:v1`)).toBe(imageDigest);
  });

  test('with faults on every try it gives up within its bound, names the blob, and leaves no tag', async () => {
    proxy.setFaults([{ method: 'PUT', path: BLOB_UPLOAD, action: { kind: 'status', status: 503 } }]);
    // A fresh cache: berth knows no other repository to mount the blobs from.
    const r = await berth(['push', image, `${proxy.host}/faults/never:v1`, '--retries', '2'], { env: testEnv(join(dir, 'fresh')) });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('berth: retrying blob')).length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatch(
      /^berth: pushing blob sha256:[0-9a-f]{64} \((6\.0 MiB|\d+ B)\) to 127\.0\.0\.1:\d+\/faults\/never: gave up after 3 tries: PUT http:\/\/127\.0\.0\.1:\d+\/v2\/faults\/never\/blobs\/uploads\/[0-9a-f-]+\?_state=REDACTED&digest=sha256:[0-9a-f]{64} answered 503 Service Unavailable \(UNAVAILABLE: injected by the fault proxy\)$/,
    );
    expect(proxy.log.some((l) => l.path.includes('/manifests/') && l.method === 'PUT')).toBe(false);
    expect(await tagExists('faults/never', 'v1')).toBe(false);
  });

  test('a connection cut after a few requests for good: a NETWORK failure within the bound, no tag', async () => {
    proxy.setFaults([], 4);
    const r = await berth(['push', image, `${proxy.host}/faults/cut:v1`, '--retries', '1', '--json'], { env });
    expect(r.code).toBe(1);
    const e = JSON.parse(r.stdout).error;
    expect(e.code).toBe('NETWORK');
    expect(e.message).toMatch(/gave up after 2 tries: .*socket hang up|gave up after 2 tries: .*ECONNRESET/);
    expect(await tagExists('faults/cut', 'v1')).toBe(false);
  });

  // The layer goes up, then every manifest PUT fails: no tag. With --retries 0, one blob at a
  // time: the 500 distribution 2.8 may answer blobs PUT at once into one repository
  // (docs/testing.md) would fail the push at a blob instead. With the default --jobs, two
  // retries absorb that 500.
  test.each([
    ['one blob at a time, no retries', 'rerun-one', ['--retries', '0', '--jobs', '1'], '1 try'],
    ['the default --jobs, two retries', 'rerun-default', ['--retries', '2'], '3 tries'],
  ])('a re-run after a failed push (%s) finishes the job without uploading again what is there', async (_how, repo, flags, tries) => {
    proxy.setFaults([{ method: 'PUT', path: /\/manifests\//, action: { kind: 'status', status: 500 } }]);
    const first = await berth(['push', image, `${proxy.host}/faults/${repo}:v1`, ...flags], { env });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(new RegExp(`^berth: pushing manifest sha256:[0-9a-f]{64} to 127\\.0\\.0\\.1:\\d+/faults/${repo}: gave up after ${tries}: PUT .* answered 500`, 'm'));
    expect(await tagExists(`faults/${repo}`, 'v1')).toBe(false);
    proxy.setFaults([]);
    proxy.log.length = 0;
    const second = await berth(['push', image, `${proxy.host}/faults/${repo}:v1`, '--json'], { env });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).push.blobs).toEqual({ uploaded: 0, mounted: 0, existing: 3, skipped: 0 });
    expect(proxy.log.filter((l) => BLOB_UPLOAD.test(l.path))).toEqual([]);
    expect(await skopeoCheck(`${reg.host}/faults/${repo}:v1`)).toBe(imageDigest);
  });
});

describe('chunked uploads (PATCH) and resumption, through the client', () => {
  const blob = randomBytes((1 << 20) + 12345);
  const desc = { mediaType: 'application/octet-stream', digest: sha256(blob), size: blob.length };
  const open = async () => Readable.from([blob.subarray(0, 500_000), blob.subarray(500_000)]);
  const client = () => new RegistryClient(proxy.host, { monolithicMax: 64 << 10, chunkSize: 256 << 10, retry: { baseDelayMs: 20 } });

  test('a large blob goes up in PATCH chunks; a 503 on one resumes where the registry stands, sending no byte twice', async () => {
    proxy.setFaults([{ method: 'PATCH', skip: 1, times: 1, action: { kind: 'status', status: 503 } }]);
    const c = client();
    try {
      await c.uploadBlob('chunks/a', desc, open);
      expect(await c.hasBlob('chunks/a', desc)).toBe(true);
    } finally {
      c.close();
    }
    const patches = proxy.log.filter((l) => l.method === 'PATCH');
    expect(patches.map((l) => l.status)).toEqual([202, 503, 202, 202, 202, 202]);
    expect(patches.filter((l) => l.status === 202).reduce((n, l) => n + l.bytes, 0)).toBe(blob.length);
    expect(proxy.log.filter((l) => l.method === 'GET' && BLOB_UPLOAD.test(l.path)).map((l) => l.status)).toEqual([204]);
    expect(proxy.log.filter((l) => l.method === 'POST')).toHaveLength(1);
    const got = Buffer.from(await (await fetch(`http://${reg.host}/v2/chunks/a/blobs/${desc.digest}`)).arrayBuffer());
    expect(sha256(got)).toBe(desc.digest);
  });

  test('a PATCH cut mid-body breaks the session; a fresh upload completes the blob', async () => {
    proxy.setFaults([{ method: 'PATCH', skip: 2, times: 1, action: { kind: 'drop-request', afterBytes: 100_000 } }]);
    const c = client();
    try {
      await c.uploadBlob('chunks/b', desc, open);
    } finally {
      c.close();
    }
    expect(proxy.log.filter((l) => l.method === 'POST')).toHaveLength(2);
    const got = Buffer.from(await (await fetch(`http://${reg.host}/v2/chunks/b/blobs/${desc.digest}`)).arrayBuffer());
    expect(sha256(got)).toBe(desc.digest);
  });

  test('a source whose bytes do not match the descriptor is never committed', async () => {
    const c = client();
    const bad = { ...desc, digest: sha256('something else') };
    // Sources check what they read, as every BlobSource does.
    const openChecked = async () => (await open()).pipe(verifyingStream(bad, 'the test source'));
    try {
      await expect(c.uploadBlob('chunks/c', bad, openChecked)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', exitCode: 2 });
      expect(await c.hasBlob('chunks/c', bad)).toBe(false);
    } finally {
      c.close();
    }
  });
});

describe('reads through a faulty network', () => {
  test('blob bodies cut short (connection dropped, or Content-Length shortened) are resumed; the pull is exact', async () => {
    const ref = `${proxy.host}/faults/fixture:v1`;
    proxy.setFaults([
      { method: 'GET', path: /\/blobs\/sha256:/, times: 1, action: { kind: 'truncate-response', bytes: 200_000 } },
      { method: 'GET', path: /\/blobs\/sha256:/, times: 1, action: { kind: 'shorten-response', bytes: 300_000 } },
    ]);
    const out = join(dir, 'pulled.tar');
    const r = await berth(['pull', ref, '--output', out], { env });
    expect(r.stderr).toContain('berth: pulled');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(imageDigest);
    const ranged = proxy.log.filter((l) => l.method === 'GET' && /\/blobs\/sha256:/.test(l.path));
    expect(ranged.map((l) => l.fault ?? l.status)).toContain('truncate-response');
    expect(JSON.parse(await run('skopeo', ['inspect', `oci-archive:${out}`])).Digest).toBe(imageDigest);
    await run('skopeo', ['copy', '--quiet', `oci-archive:${out}`, `dir:${join(dir, 'pulled-check')}`]);
  });

  test('a registry answering a manifest that does not match its digest: exit 1, DIGEST_MISMATCH, nothing written', async () => {
    await given('reads/app:v1');
    proxy.setFaults([{ method: 'GET', path: /\/manifests\//, action: { kind: 'corrupt-response' } }]);
    const out = join(dir, 'never.tar');
    const r = await berth(['pull', `${proxy.host}/faults/fixture@${imageDigest}`, '--output', out, '--json'], { env });
    expect(r.code).toBe(1);
    const e = JSON.parse(r.stdout).error;
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.message).toMatch(new RegExp(`^${proxy.host.replace(/\./g, '\\.')}/faults/fixture: manifest ${imageDigest} does not match its digest \\(expected ${imageDigest}, its bytes hash to sha256:[0-9a-f]{64}\\)$`));
    await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('names and transport security', () => {
  // A resolver that knows only `registry.test` (as 127.0.0.1), as a DNS server would.
  const lookup: LookupFunction = (hostname, options, cb) => {
    if (hostname === 'registry.test') {
      if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
      return;
    }
    cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
  };

  test('an unknown host fails at once (one lookup, no retry) with a clear message', async () => {
    let lookups = 0;
    const counting: LookupFunction = (hostname, options, cb) => {
      lookups++;
      lookup(hostname, options, cb);
    };
    const c = new RegistryClient('nosuch.registry.test', { lookup: counting });
    try {
      const err = await c.headManifest('x/y', 'v1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe('NETWORK');
      expect((err as RegistryError).exitCode).toBe(1);
      expect((err as RegistryError).message).toBe('GET https://nosuch.registry.test/v2/: unknown host nosuch.registry.test; check the registry name');
      expect(lookups).toBe(1);
    } finally {
      c.close();
    }
  });

  test('TLS is the default for other hosts; plain HTTP only when the host is named insecure', async () => {
    await given('reads/app:v1');
    const host = `registry.test:${reg.port}`;
    const secure = new RegistryClient(host, { lookup });
    try {
      const err = (await secure.headManifest('faults/fixture', 'v1').catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('NETWORK');
      expect(err.message).toContain(`GET https://${host}/v2/: TLS handshake with ${host} failed`);
      expect(err.message).toContain(`use --insecure-registry ${host}`);
    } finally {
      secure.close();
    }
    const insecure = new RegistryClient(host, { lookup, insecure: [host] });
    try {
      expect((await insecure.headManifest('faults/fixture', 'v1'))?.digest).toBe(imageDigest);
    } finally {
      insecure.close();
    }
  });
});

/** An image of 6 layers (the base's, 4 layers of random bytes, the app's), as a tarball. */
async function sixLayerImage(): Promise<{ path: string; digest: string }> {
  const base = join(dir, 'six-base.tar');
  await staticBase(base);
  const layers: string[] = [];
  for (let i = 0; i < 4; i++) {
    const d = join(dir, `six-${i}`);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, `data-${i}.bin`), randomBytes(300_000 + i * 1000));
    layers.push(join(dir, `six-${i}.tar`));
    await run('tar', ['-C', d, '-cf', layers[i]!, '.']);
  }
  const path = join(dir, 'six.tar');
  const built = await appImage(base, path, env, layers.flatMap((l) => ['--layer', l]));
  expect(built.code).toBe(0);
  const manifest = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${path}`]));
  expect(manifest.layers).toHaveLength(6);
  return { path, digest: built.digest };
}

describe('a flaky network: 20% of requests faulted at random, default retries', () => {
  test('a push of a 6-layer image completes, over several seeds, with every digest right', async () => {
    const six = await sixLayerImage();
    for (const seed of [1, 2, 3, 4, 5]) {
      proxy.log.length = 0;
      proxy.setRandom({ rate: 0.2, seed });
      // A fresh cache each time: nothing to mount from, every blob goes up through the faults.
      const r = await berth(['push', six.path, `${proxy.host}/random/s${seed}:v1`, '--json'], { env: testEnv(join(dir, `random-${seed}`)) });
      proxy.setRandom(undefined);
      expect({ seed, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ seed, code: 0, stderr: '' });
      expect(JSON.parse(r.stdout).digest).toBe(six.digest);
      expect(proxy.log.filter((l) => l.fault).length).toBeGreaterThan(0);
      expect(await skopeoCheck(`${reg.host}/random/s${seed}:v1`)).toBe(six.digest);
    }
  });
});

/** A server on 127.0.0.1 that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; sockets: Socket[]; close: () => void }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('timeouts: silence fails fast, slow progress never times out', () => {
  test('a registry that accepts and then says nothing: exit 1 after one retry, naming the silence', async () => {
    const { port, sockets, close } = await silentServer();
    try {
      const r = await berth(['push', image, `127.0.0.1:${port}/quiet/app:v1`, '--timeout', '0.5', '--json'], { env });
      expect(r.code).toBe(1);
      const e = JSON.parse(r.stdout).error;
      expect(e.code).toBe('NETWORK');
      expect(e.message).toMatch(new RegExp(`gave up after 2 tries: GET http://127\\.0\\.0\\.1:${port}/v2/: 127\\.0\\.0\\.1:${port} went silent: no byte moved for 0\\.5 s \\(--timeout\\)$`));
      // The API check was tried twice (a timeout is retried once), then nothing more.
      expect(sockets).toHaveLength(2);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('berth: retrying'))).toHaveLength(1);
    } finally {
      close();
    }
  });

  test('a blob that arrives slowly but steadily is not cut by the idle timeout', async () => {
    // 6 MiB at 512 KiB every 250 ms: about 3 s in all, with no silence near the 2 s timeout
    // (the proxy shares berth's event loop here: a pause of the test process delays both).
    proxy.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, action: { kind: 'slow-response', chunkBytes: 512 << 10, delayMs: 250 } }]);
    const out = join(dir, 'slow.tar');
    const r = await berth(['pull', `${proxy.host}/faults/fixture:v1`, '--output', out, '--timeout', '2'], { env: testEnv(join(dir, 'slow-cache')) });
    expect(r.stderr).not.toContain('retrying');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(imageDigest);
    expect(proxy.log.filter((l) => l.fault === 'slow-response').length).toBeGreaterThan(0);
    expect(JSON.parse(await run('skopeo', ['inspect', `oci-archive:${out}`])).Digest).toBe(imageDigest);
  });

  test('--timeout must be a number of seconds above 0', async () => {
    for (const bad of ['0', '-1', 'soon']) {
      const r = await berth(['inspect', `${reg.host}/faults/fixture:v1`, '--timeout', bad], { env });
      expect(r.code).toBe(2);
      // A non-number is named as typed; a number out of range gets the range.
      expect(r.stderr).toMatch(/^berth: --timeout: (.* is not a number of seconds above 0 and up to 3600|"[^"]*" is not a number)\n$/);
    }
  });
});

describe('a bad local source while the registry is being reached', () => {
  test('push and copy print one line: the pending API check ends quietly', async () => {
    // A registry that never answers keeps the API check pending when the source fails.
    const { port, sockets, close } = await silentServer();
    try {
      for (const cmd of ['push', 'copy']) {
        // The built executable, as a user runs it: a line written late would still show.
        const r = await berthBin([cmd, join(dir, 'no-such.tar'), `127.0.0.1:${port}/x/app:v1`], { env });
        expect(r.code).toBe(2);
        expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
        expect(r.stderr).toMatch(/^berth: .*no-such\.tar.*\n$/);
      }
      expect(sockets.length).toBeGreaterThan(0); // the check was under way
    } finally {
      close();
    }
  });
});

describe('manifest PUTs racing the registry’s own commits', () => {
  const c = () => new RegistryClient(proxy.host, { retry: { baseDelayMs: 20 } });

  test('400 MANIFEST_BLOB_UNKNOWN while every blob it names is there: HEADs find them, the PUT is tried again and lands', async () => {
    const raw = Buffer.from(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/faults/fixture:v1`]));
    const m = JSON.parse(raw.toString());
    const client = c();
    try {
      // The manifest's blobs are in faults/fixture; mount them into a fresh repository first.
      for (const d of [m.config, ...m.layers]) expect(await client.mountBlob('faults/settle', d, 'faults/fixture')).toEqual({ mounted: true });
      proxy.setFaults([{ method: 'PUT', path: /\/manifests\//, times: 2, action: { kind: 'status', status: 400, code: 'MANIFEST_BLOB_UNKNOWN' } }]);
      await client.putManifest('faults/settle', 'v1', { mediaType: m.mediaType, raw, digest: sha256(raw) });
    } finally {
      client.close();
    }
    expect(proxy.log.filter((l) => l.method === 'PUT').map((l) => l.status)).toEqual([400, 400, 201]);
    expect(proxy.log.filter((l) => l.method === 'HEAD' && /\/blobs\//.test(l.path)).length).toBeGreaterThanOrEqual(2 * (m.layers.length + 1));
    expect(await tagExists('faults/settle', 'v1')).toBe(true);
  });

  test('an index naming a child that is not there: the 400 stands, at once', async () => {
    const missing = sha256('no such manifest');
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: missing, size: 100, platform: { os: 'linux', architecture: 'amd64' } }] }));
    const client = c();
    try {
      const err = (await client.putManifest('faults/settle', 'bad', { mediaType: 'application/vnd.oci.image.index.v1+json', raw: index, digest: sha256(index) }).catch((e: unknown) => e)) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.details.status).toBe(400);
      expect(err.details.registryCodes).toContain('MANIFEST_BLOB_UNKNOWN');
    } finally {
      client.close();
    }
    expect(proxy.log.filter((l) => l.method === 'PUT')).toHaveLength(1);
  });
});

describe('digests are checked on what is read', () => {
  test('a blob fetched from a registry whose bytes are not its digest fails DIGEST_MISMATCH (every try)', async () => {
    const m = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/faults/fixture:v1`]));
    const layer = m.layers[0];
    proxy.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, action: { kind: 'corrupt-response' } }]);
    const client = new RegistryClient(proxy.host);
    try {
      const stream = await client.fetchBlob('faults/fixture', layer);
      const err = await (async () => {
        for await (const _ of stream) void _;
      })().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect((err as Error).message).toContain(layer.digest);
    } finally {
      client.close();
    }
  });

  test('a blob in the local cache whose bytes changed is refused when read back', async () => {
    const m = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/faults/fixture:v1`]));
    const cache = new BlobStore(join(dir, 'blob-cache'));
    const registries = new Registries({});
    try {
      const img = await readRegistry(registries, { registry: reg.host, repository: 'faults/fixture', tag: 'v1' }, { cache });
      expect(img.kind).toBe('image');
      const layer = m.layers[0];
      (await img.blobs.open(layer)).resume(); // fetched into the cache
      const path = cache.pathOf(layer.digest);
      await waitFor(() => cache.has(layer.digest));
      const bytes = await readFile(path);
      bytes[bytes.length >> 1] ^= 1;
      await writeFile(path, bytes);
      const err = await (async () => {
        for await (const _ of await img.blobs.open(layer)) void _;
      })().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect((err as Error).message).toContain(join(dir, 'blob-cache'));
    } finally {
      registries.close();
    }
  });
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}

describe('*.localhost is plain HTTP only when it resolves to loopback', () => {
  // Resolvers as a test says; every connection still goes to 127.0.0.1.
  const answer = (addresses: string[]): LookupFunction => (_hostname, options, cb) => {
    const all = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: typeof all) => void)(null, all);
    else cb(null, all[0]!.address, all[0]!.family);
  };
  /** Says `first` to the first question (berth's loopback check), 127.0.0.1 to every later one (the connection). */
  const checkSees = (first: string[]): LookupFunction => {
    let n = 0;
    return (h, o, cb) => (n++ === 0 ? answer(first) : answer(['127.0.0.1']))(h, o, cb);
  };

  test('resolving to 127.0.0.1 (or ::1 and 127.0.0.1): plain HTTP', async () => {
    for (const addresses of [['127.0.0.1'], ['::1', '127.0.0.1'], ['127.0.0.2']]) {
      const c = new RegistryClient(`reg.localhost:${reg.port}`, { lookup: checkSees(addresses) });
      try {
        expect((await c.headManifest('faults/fixture', 'v1'))?.digest).toBe(imageDigest);
        expect(c.base).toBe(`http://reg.localhost:${reg.port}`);
      } finally {
        c.close();
      }
    }
  });

  test('resolving elsewhere (or partly elsewhere, or not at all): TLS, as for any other host', async () => {
    for (const addresses of [['192.0.2.7'], ['127.0.0.1', '192.0.2.7'], ['2001:db8::1']]) {
      const c = new RegistryClient(`reg.localhost:${reg.port}`, { lookup: checkSees(addresses) });
      try {
        const err = (await c.headManifest('faults/fixture', 'v1').catch((e: unknown) => e)) as RegistryError;
        expect(err.message).toContain(`GET https://reg.localhost:${reg.port}/v2/: TLS handshake with reg.localhost:${reg.port} failed`);
      } finally {
        c.close();
      }
    }
  });

  test('localhost, 127.0.0.0/8 and ::1 are plain HTTP by name; loopback addresses are told apart', () => {
    expect(new RegistryClient('localhost:5000').base).toBe('http://localhost:5000');
    expect(new RegistryClient('127.1.2.3:5000').base).toBe('http://127.1.2.3:5000');
    expect(new RegistryClient('[::1]:5000').base).toBe('http://[::1]:5000');
    expect(new RegistryClient('x.localhost:5000').base).toBe('https://x.localhost:5000');
    expect(new RegistryClient('localhost.example.com').base).toBe('https://localhost.example.com');
    expect(['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'].every(isLoopbackAddress)).toBe(true);
    expect(['128.0.0.1', '10.0.0.1', '::2', '::', '192.0.2.7', 'localhost', '1127.0.0.1'].some(isLoopbackAddress)).toBe(false);
  });
});
