/**
 * src/folders/presence.ts and publish.ts driven directly against the real registry: what a
 * content-hash tag already holds, and a push that adds only the platform the registry lacks.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { presence } from '../../src/folders/presence.js';
import { publishImages } from '../../src/folders/publish.js';
import type { ImagesPlan, PlannedImage, PlannedPlatform } from '../../src/folders/folder-plan.js';
import { parseReference } from '../../src/oci/reference.js';
import { Registries } from '../../src/registry/index.js';
import type { Image } from '../../src/transport/image.js';
import { readLocation } from '../../src/transport/location.js';
import { berthBin } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';

let registry: TestRegistry;
let dir: string;
let cleanup: () => Promise<void>;
let registries: Registries;
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

async function berthOk(args: string[]): Promise<void> {
  const r = await berthBin(args, { env: { PATH: process.env.PATH, HOME: dir, SOURCE_DATE_EPOCH: '0' } });
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')}: ${r.stderr}`);
}

/** An image tarball of one file, for one platform or several (an index). */
async function imageTarball(name: string, platforms: string[]): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nARG TARGETARCH\nCOPY f /f\nLABEL arch=$TARGETARCH\n');
  await writeFile(join(ctx, 'f'), name);
  const out = join(dir, `${name}.tar`);
  await berthOk(['build', '--dockerfile', join(ctx, 'Dockerfile'), ...platforms.flatMap((p) => ['--platform', p]), '--output', out]);
  return out;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-presence-'));
  registry = await startRegistry();
  registries = new Registries({ cacheDir: join(dir, 'cache') });
}, 60_000);

afterAll(async () => {
  registries?.close();
  await registry?.stop();
  await cleanup?.();
});

describe('presence', () => {
  test('an index tag: its digest and every platform; a missing tag: nothing', async () => {
    await berthOk(['push', await imageTarball('both', ['linux/amd64', 'linux/arm64']), `${registry.host}/p/both:h1`]);
    const got = await presence(registries, parseReference(`${registry.host}/p/both:h1`));
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/p/both:h1`])) as { manifests: unknown[] };
    expect(got.platforms).toEqual([amd64, arm64]);
    expect(got.artifact?.kind).toBe('index');
    expect(raw.manifests).toHaveLength(2);
    expect(await presence(registries, parseReference(`${registry.host}/p/both:nothing`))).toEqual({ platforms: [] });
  });

  test('a single image tag: its own platform', async () => {
    await berthOk(['push', await imageTarball('one', ['linux/arm64']), `${registry.host}/p/one:h1`]);
    const got = await presence(registries, parseReference(`${registry.host}/p/one:h1`));
    expect(got.platforms).toEqual([arm64]);
    expect(got.digest).toMatch(/^sha256:/);
  });
});

describe('publishImages', () => {
  test('adds only the platform the registry lacks under the content-hash tag, keeps what it has, then has nothing to do', async () => {
    await berthOk(['push', await imageTarball('have', ['linux/amd64']), `${registry.host}/pub/app:chash`]);
    const armImage = (await readLocation({ kind: 'tarball', path: await imageTarball('add', ['linux/arm64']) })) as Image;
    expect(armImage.kind).toBe('image');
    const platform = (p: typeof amd64): PlannedPlatform => ({ platform: p, source: { kind: 'dockerfile', file: 'Dockerfile' } });
    const image = { name: 'app', wanted: true, hash: 'c'.repeat(64), tag: 'chash', buildArgs: {}, deps: [], platforms: [platform(amd64), platform(arm64)], resolved: [] } as unknown as PlannedImage;
    const plan = { images: [image], wanted: ['app'] } as ImagesPlan;
    const asked: string[][] = [];
    const opts = {
      registries,
      targets: [`${registry.host}/pub`],
      tags: () => ['latest'],
      format: 'oci' as const,
      build: async (_i: PlannedImage, platforms: readonly PlannedPlatform[]) => {
        asked.push(platforms.map((p) => `${p.platform.os}/${p.platform.architecture}`));
        return platforms.map(() => armImage);
      },
    };
    const [first] = await publishImages(plan, opts);
    expect(asked).toEqual([['linux/arm64']]);
    expect(first).toMatchObject({ status: 'published', added: ['linux/arm64'], platforms: ['linux/amd64', 'linux/arm64'] });
    const index = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/pub/app:latest`])) as { manifests: { platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    const [second] = await publishImages(plan, opts);
    expect(asked).toHaveLength(1);
    expect(second).toMatchObject({ status: 'up-to-date', platforms: ['linux/amd64', 'linux/arm64'] });
  });
});
