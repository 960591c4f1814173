import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { digestHex } from '../../oci/digest.js';
import { formatPlatform } from '../../oci/platform.js';
import { writeLocation } from '../../transport/copy.js';
import { readLayout } from '../../transport/layout-read.js';
import { tarballFiles } from '../../transport/layout-files.js';
import { imagePlatform, selectImage } from '../../transport/select.js';
import type { Image } from '../../transport/image.js';
import type { EngineBuildRequest, RunEngine } from './engine.js';
import { normalizeEngineOutput } from './normalize.js';
import { platformArgs } from './platform-args.js';
import { runTool } from './run-tool.js';

export interface BuildahOptions {
  /** The buildah program (default `buildah` on PATH). */
  bin?: string;
  /** Storage folder (graph root and run root inside it). Default: `buildahStorage()`. */
  storage?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Where buildah keeps its images for berth: `$BERTH_BUILDAH_STORAGE` if set, else
 * `$XDG_CACHE_HOME/berth/buildah`, else `~/.cache/berth/buildah`. Never the system's
 * /var/lib/containers, so a build neither sees nor leaves images there.
 */
export function buildahStorage(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_BUILDAH_STORAGE) return resolve(env.BERTH_BUILDAH_STORAGE);
  const cache = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(cache, 'berth', 'buildah');
}

/**
 * Debian's buildah (1.28) as root on a machine without overlayfs: `buildah bud --isolation
 * chroot` with vfs storage in berth's own folder. Image contexts are pulled into that
 * storage from an image tarball berth writes and passed as `--build-context
 * NAME=docker-image://LOCALNAME`; folder contexts as `--build-context NAME=DIR`. The build
 * never pulls (`--pull=never`): every image it starts from is one berth loaded. The result
 * is pushed to an oci-archive in the work folder, read back and normalized.
 */
export function buildahEngine(options: BuildahOptions = {}): RunEngine {
  const bin = options.bin ?? 'buildah';
  const storage = options.storage ?? buildahStorage(options.env);
  const env = options.env ?? process.env;
  const global = ['--storage-driver', 'vfs', '--root', join(storage, 'root'), '--runroot', join(storage, 'run')];
  return {
    name: 'buildah',
    available: () =>
      new Promise((done) => {
        execFile(bin, ['--version'], { timeout: 10_000 }, (err) => done(!err));
      }),
    async build(req: EngineBuildRequest): Promise<Image> {
      await mkdir(storage, { recursive: true });
      const tool = (args: string[], doing: string) =>
        runTool({ engine: 'buildah', cmd: bin, args: [...global, ...args], env, log: req.log, doing, ...(req.signal ? { signal: req.signal } : {}) });

      const contextArgs: string[] = [];
      const bases: Image[] = [];
      const load = async (image: Image, localName: string, what: string) => {
        const archive = join(req.workDir, `load-${bases.length}.tar`);
        await writeLocation({ kind: 'tarball', path: archive }, { images: [{ image, platform: imagePlatform(image) }] }, [localName], req.epoch);
        await tool(['pull', '--quiet', `oci-archive:${archive}`], `loading ${what}`);
        // containers-storage names a pulled image by its config digest.
        await tool(['tag', digestHex(image.manifest.config.digest), localName], `naming ${what}`);
        bases.push(image);
      };
      for (const [name, ctx] of Object.entries(req.namedContexts)) {
        if (ctx.kind === 'dir') {
          contextArgs.push('--build-context', `${name}=${resolve(ctx.path)}`);
          continue;
        }
        await load(ctx.image, ctx.localName, `image context ${name}`);
        contextArgs.push('--build-context', `${name}=docker-image://${ctx.localName}`);
      }
      for (const { ref, image } of req.images ?? []) await load(image, ref, `image ${ref}`);

      const iidFile = join(req.workDir, 'buildah.iid');
      const args = { ...platformArgs(req.platform), ...req.buildArgs };
      await tool(
        [
          'bud',
          '--isolation',
          'chroot',
          '--pull=never',
          '--platform',
          formatPlatform(req.platform),
          ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
          ...(req.target ? ['--target', req.target] : []),
          ...contextArgs,
          '-f',
          resolve(req.dockerfile),
          '--iidfile',
          iidFile,
          resolve(req.contextDir),
        ],
        'building',
      );
      const id = (await readFile(iidFile, 'utf8')).trim();
      const out = join(req.workDir, 'buildah-out.tar');
      try {
        await tool(['push', '--quiet', '--disable-compression', id, `oci-archive:${out}`], 'writing out the image');
      } finally {
        await tool(['rmi', '--force', id], 'removing the built image').catch(() => {});
      }
      const image = await selectImage(await readLayout(await tarballFiles(out)), undefined, 'buildah output');
      return normalizeEngineOutput(image, req, { engine: 'buildah', bases });
    },
  };
}
