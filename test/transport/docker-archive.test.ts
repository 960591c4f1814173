import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { readDockerArchive } from '../../src/transport/docker-archive.js';
import { tempDir } from '../helpers/tools.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function tarOf(files: Record<string, Buffer | string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, content);
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-docker-archive-'));
});
afterAll(async () => cleanup());

/** What Docker 20.10's `docker save` writes: manifest.json, <id>.json, <id>/layer.tar (plain tar), no index.json. */
async function dockerSave(name: string, opts: { layer?: Buffer; diffID?: string; layerPath?: string } = {}): Promise<string> {
  const layer = opts.layer ?? (await tarOf({ x: 'hi\n' }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [opts.diffID ?? sha(layer)] } }));
  const id = sha(config).slice(7);
  const manifest = [{ Config: `${id}.json`, RepoTags: ['t1:latest'], Layers: [opts.layerPath ?? 'abc/layer.tar'] }];
  const path = join(dir, `${name}.tar`);
  await writeFile(path, await tarOf({ 'abc/VERSION': '1.0', 'abc/json': '{}', 'abc/layer.tar': layer, [`${id}.json`]: config, 'manifest.json': JSON.stringify(manifest), repositories: '{}' }));
  return path;
}

describe('readDockerArchive: docker save before Docker 25 (no index.json)', () => {
  test('reads the config and the plain tar layers, checked against diff_ids', async () => {
    const layer = await tarOf({ x: 'hi\n' });
    const img = await readDockerArchive(await dockerSave('ok', { layer }));
    expect(img.config.rootfs.diff_ids).toEqual([sha(layer)]);
    expect(img.manifest.layers).toEqual([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }]);
    const chunks: Buffer[] = [];
    for await (const c of await img.blobs.open(img.manifest.layers[0]!)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(layer)).toBe(true);
  });

  test('a layer that does not hash to its diff_id is refused', async () => {
    const err = await readDockerArchive(await dockerSave('bad', { diffID: `sha256:${'0'.repeat(64)}` })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', exitCode: 2 });
  });

  test('manifest.json naming a path outside the archive is refused', async () => {
    const err = await readDockerArchive(await dockerSave('climb', { layerPath: '../../etc/passwd' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSAFE_PATH', exitCode: 2, message: expect.stringContaining('manifest.json names "../../etc/passwd"') });
  });

  test('a tar that is neither format says so', async () => {
    const path = join(dir, 'neither.tar');
    await writeFile(path, await tarOf({ 'hello.txt': 'x' }));
    await expect(readDockerArchive(path)).rejects.toMatchObject({ code: 'BAD_TARBALL', message: `${path}: neither an OCI image layout nor a docker save archive (no manifest.json)` });
  });
});
