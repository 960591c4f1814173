import { join } from 'node:path';
import { buildLayer } from '../blob/layer.js';
import type { TarEntry } from '../blob/tar.js';
import { assembleImage } from '../image/assemble.js';
import { STATIC_BASE_FILES, staticBaseConfig } from '../image/static-base.js';
import type { Format } from '../oci/mediatype.js';
import type { Platform } from '../oci/platform.js';
import { fileBlobs } from '../transport/file-blobs.js';
import type { Image } from '../transport/image.js';

/** Makes berth's static base for one platform, its layer written into `work`. */
export async function buildStaticBase(opts: { platform: Platform; epoch: number; level: number; format: Format; work: string; name?: string }): Promise<Image> {
  const entries: TarEntry[] = STATIC_BASE_FILES.map((f) => {
    const content = f.content === undefined ? undefined : Buffer.from(f.content, 'utf8');
    return {
      path: f.path,
      type: f.type,
      mode: f.mode,
      uid: f.uid,
      gid: f.gid,
      mtime: opts.epoch,
      ...(content ? { size: content.length, source: content } : {}),
    };
  });
  const path = join(opts.work, opts.name ?? 'static-base-layer');
  const layer = await buildLayer(entries, { outPath: path, level: opts.level });
  const config = staticBaseConfig(opts.platform);
  const assembled = assembleImage({
    base: { layers: [], config },
    layers: [{ ...layer, history: { created_by: 'berth base static' } }],
    changes: { platform: opts.platform, created: opts.epoch },
    format: opts.format,
  });
  return { kind: 'image', ...assembled, blobs: fileBlobs(new Map([[layer.digest, path]]), 'berth static base') };
}
