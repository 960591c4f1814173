/**
 * Registry mirrors with two real registries on 127.0.0.1: what is named by digest is read
 * from a mirror first (berth.yaml's registry-mirrors or $BERTH_REGISTRY_MIRRORS), from the
 * origin when the mirror lacks it; a mirror for one registry under a path prefix; a tag is
 * never read from a mirror; a bad entry is exit 2 naming it.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { mirrorsFor, mirrorsFromEnv, parseMirror } from '../../src/config/mirrors.js';

let origin: TestRegistry;
let mirror: TestRegistry;
let dir: string;
let cleanup: () => Promise<void>;
let index: string;
let pulls = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-mirrors-'));
  [origin, mirror] = await Promise.all([startRegistry(), startRegistry()]);
  index = join(dir, 'base.tar');
  expect((await berth(['base', 'static', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', index])).code).toBe(0);
});

afterAll(async () => {
  await Promise.all([origin?.stop(), mirror?.stop()]);
  await cleanup?.();
});

/** Pushes the index to `where` (host/repo:tag); returns its digest. */
async function push(where: string): Promise<string> {
  const r = await berth(['push', index, where, '--quiet']);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** `berth pull REF` with a cache of its own (so nothing comes from an earlier pull). */
function pull(ref: string, env: Record<string, string> = {}, cwd = dir) {
  const n = ++pulls;
  return berth(['pull', ref, '--quiet', '--output', join(dir, `pulled-${n}.tar`), '--cache-dir', join(dir, `cache-${n}`), '--json'], { env: { PATH: process.env.PATH, ...env }, cwd });
}

test('a digest the origin lacks is read from the mirror; one the mirror lacks from the origin', async () => {
  const digest = await push(`${mirror.host}/only-here/base:v1`);
  const viaMirror = await pull(`${origin.host}/only-here/base@${digest}`, { BERTH_REGISTRY_MIRRORS: `http://${mirror.host}` });
  // Progress lines come first (stderr is no terminal here); the last line says what was pulled.
  expect(viaMirror.stderr).toContain(`berth: pulled ${digest} -> ${join(dir, `pulled-${pulls}.tar`)}\n`);
  expect(viaMirror.stderr).not.toMatch(/error|retry/i);
  expect(viaMirror.code).toBe(0);
  expect(JSON.parse(viaMirror.stdout).digest).toBe(digest);
  // Without the mirror, the origin has no such repository.
  expect((await pull(`${origin.host}/only-here/base@${digest}`)).code).toBe(1);

  await push(`${origin.host}/origin-only/base:v1`);
  const fallback = await pull(`${origin.host}/origin-only/base@${digest}`, { BERTH_REGISTRY_MIRRORS: `http://${mirror.host}` });
  expect(fallback.code).toBe(0);
  expect(JSON.parse(fallback.stdout).digest).toBe(digest);
});

test("berth.yaml's registry-mirrors, for one registry, under a path", async () => {
  const digest = await push(`${mirror.host}/gcr/distroless/base:v1`);
  const project = join(dir, 'project');
  await mkdir(project, { recursive: true });
  await writeFile(join(project, 'berth.yaml'), `registry-mirrors:\n  - ${origin.host}=http://${mirror.host}/gcr\n`);
  const r = await pull(`${origin.host}/distroless/base@${digest}`, {}, project);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).digest).toBe(digest);
  // A tag is asked of the origin only, which does not have it.
  const byTag = await pull(`${origin.host}/distroless/base:v1`, {}, project);
  expect(byTag.code).toBe(1);
});

test('a bad mirror entry is exit 2 naming it', async () => {
  const r = await pull(`${origin.host}/x/y@sha256:${'a'.repeat(64)}`, { BERTH_REGISTRY_MIRRORS: 'ftp://mirror.example.com' });
  expect(r.stderr).toBe('berth: BERTH_REGISTRY_MIRRORS: "ftp://mirror.example.com": a mirror is reached over http:// or https://\n');
  expect(r.code).toBe(2);
  const project = join(dir, 'bad-project');
  await mkdir(project, { recursive: true });
  await writeFile(join(project, 'berth.yaml'), 'registry-mirrors:\n  - "https://mirror.example.com/Bad Path"\n');
  const bad = await pull(`${origin.host}/x/y@sha256:${'a'.repeat(64)}`, {}, project);
  expect(bad.stderr).toMatch(/^berth: berth\.yaml:2: registry-mirrors\[0\]: "https:\/\/mirror\.example\.com\/Bad Path": the path "Bad Path" is not a repository path\n$/);
  expect(bad.code).toBe(2);
});

test('entries parse to host, path and scheme; a mirror for one registry is not used for another', () => {
  expect(parseMirror('https://mirror.gcr.io')).toEqual({ host: 'mirror.gcr.io', prefix: '', insecure: false });
  expect(parseMirror('gcr.io=http://10.0.0.5:5000/gcr/')).toEqual({ registry: 'gcr.io', host: '10.0.0.5:5000', prefix: 'gcr', insecure: true });
  expect(parseMirror('mirror.lan:5000')).toEqual({ host: 'mirror.lan:5000', prefix: '', insecure: false });
  expect(parseMirror('')).toMatch(/is not a mirror URL/);
  const mirrors = mirrorsFromEnv(' gcr.io=https://a.lan, https://b.lan ');
  expect(mirrorsFor(mirrors, 'gcr.io').map((m) => m.host)).toEqual(['a.lan', 'b.lan']);
  expect(mirrorsFor(mirrors, 'quay.io').map((m) => m.host)).toEqual(['b.lan']);
  expect(mirrorsFor(mirrors, 'b.lan')).toEqual([]); // never its own mirror
  expect(() => mirrorsFromEnv('gcr.io=')).toThrow('BERTH_REGISTRY_MIRRORS: "gcr.io=" is not a mirror URL');
});

test('any text is a mirror or one reason, never a throw; a mirror it gives has a host a client can reach', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.constantFrom('http://', 'https://', 'gcr.io=', 'a=b=c', 'http://h:1/p/')).chain((p) => fc.string().map((t) => p + t)), (text) => {
      const m = parseMirror(text);
      if (typeof m === 'string') {
        expect(m).not.toContain('\n');
      } else {
        expect(m.host).toMatch(/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/);
        expect(m.prefix).not.toMatch(/^\/|\/$/);
      }
    }),
    { numRuns: 3000 },
  );
});
