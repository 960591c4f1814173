/**
 * src/folders/presence.ts in process, against the real registry behind the fault proxy (which
 * logs every request): what a tag names, its platforms, and the one-HEAD check once berth's
 * manifest cache holds the index.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { formatPlatform } from '../../src/oci/platform.js';
import { parseReference } from '../../src/oci/reference.js';
import { Registries } from '../../src/registry/pool.js';
import { manifestCache, presence } from '../../src/folders/presence.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { memImage, publishIndex } from './mem-image.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
let indexDigest: string;
let singleDigest: string;
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7'];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-presence-'));
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.host });
  const r = new Registries({});
  try {
    indexDigest = await publishIndex(r, registry.host, 'multi', 'v1', PLATFORMS.map((p) => memImage(p, 'multi')));
    // A tag naming one image manifest (not an index): its blobs put there first.
    const one = memImage('linux/s390x', 'single');
    await publishIndex(r, registry.host, 'single', 'blobs', [one]);
    await r.client(registry.host).putManifest('single', 'v1', { mediaType: one.mediaType, raw: one.manifestRaw, digest: one.digest });
    singleDigest = one.digest;
  } finally {
    r.close();
  }
});
afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  await cleanup?.();
});

const ref = (s: string) => parseReference(`${proxy.host}/${s}`);

describe('presence', () => {
  test('a tag the registry lacks: no digest, no platforms', async () => {
    const r = new Registries({});
    try {
      expect(await presence(r, ref('multi:nope'))).toEqual({ platforms: [] });
      expect(await presence(r, ref('never-pushed:v1'))).toEqual({ platforms: [] });
    } finally {
      r.close();
    }
  });

  test("an index: its digest and every platform it lists, in the index's order", async () => {
    const r = new Registries({});
    try {
      const have = await presence(r, ref('multi:v1'));
      expect(have.digest).toBe(indexDigest);
      expect(have.platforms.map(formatPlatform).sort()).toEqual([...PLATFORMS].sort());
      if (have.artifact?.kind !== 'index') throw new Error('not an index');
      expect(have.platforms).toEqual(have.artifact.index.manifests.map((d) => d.platform));
    } finally {
      r.close();
    }
  });

  test("a single image: its digest and its config's platform", async () => {
    const r = new Registries({});
    try {
      const have = await presence(r, ref('single:v1'));
      expect(have.digest).toBe(singleDigest);
      expect(have.platforms.map(formatPlatform)).toEqual(['linux/s390x']);
    } finally {
      r.close();
    }
  });

  test('with a cache folder: the index is kept by digest, and the next check is one HEAD with the same answer', async () => {
    const cacheDir = join(dir, 'cache');
    const first = new Registries({ cacheDir });
    let before;
    try {
      before = await presence(first, ref('multi:v1'));
    } finally {
      first.close();
    }
    expect(manifestCache(new Registries({ cacheDir }))!.has(before.digest!)).toBe(true);
    expect(manifestCache(new Registries({}))).toBeUndefined();
    const mark = proxy.log.length;
    const second = new Registries({ cacheDir });
    try {
      const again = await presence(second, ref('multi:v1'));
      expect(again.digest).toBe(indexDigest);
      expect(again.platforms).toEqual(before.platforms);
      const requests = proxy.log.slice(mark).filter((e) => e.path.includes('/manifests/') || e.path.includes('/blobs/'));
      expect(requests.map((e) => `${e.method} ${e.path.replace(/\?.*$/, '')}`)).toEqual(['HEAD /v2/multi/manifests/v1']);
    } finally {
      second.close();
    }
  });
});
