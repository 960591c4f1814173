import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { digestHex } from '../../oci/digest.js';
import { formatPlatform } from '../../oci/platform.js';
import { writeLocation } from '../../transport/copy-image.js';
import { imagePlatform } from '../../transport/select.js';
import type { Image } from '../../transport/image.js';
import type { EngineBuildRequest, RunEngine } from './engine.js';
import { normalizeEngineOutput } from './normalize.js';
import { engineArgs, platformArgs } from './platform-args.js';
import { argsUsedInFrom, declareGlobalArgs, pinTargetPlatform } from './rewrite-contexts.js';
import { stepLines } from './steps.js';
import { parseDockerfile } from '../../dockerfile/parse.js';
import { readDockerArchive } from '../../transport/docker-archive.js';
import { runTool } from './run-tool.js';
import { runCapture } from '../../util/children.js';

export interface BuildahOptions {
  /** The buildah program (default `buildah` on PATH). */
  bin?: string;
  /**
   * Where each build's own storage goes (a new folder per build inside it, removed after).
   * Default: the build's work folder. Never shared between builds: two builds loading
   * different images under one name (a base's two platforms) would take each other's.
   */
  storage?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Debian's buildah (1.28) as root on a machine without overlayfs: `buildah bud --isolation
 * chroot` with vfs storage of the build's own (in its work folder), so builds at once never share
 * an image name or a lock. Image contexts are pulled into that
 * storage from an image tarball berth writes and passed as `--build-context
 * NAME=docker-image://LOCALNAME`; folder contexts as `--build-context NAME=DIR`. The build
 * never pulls (`--pull=never`): every image it starts from is one berth loaded. The result
 * is built in Docker's format (OCI's has no HEALTHCHECK, SHELL, ONBUILD), pushed to a
 * docker-archive in the work folder, read back and normalized into berth's media types.
 */
export function buildahEngine(options: BuildahOptions = {}): RunEngine {
  const bin = options.bin ?? 'buildah';
  const env = options.env ?? process.env;
  return {
    name: 'buildah',
    available: async () => (await runCapture({ cmd: bin, args: ['--version'], timeoutMs: 10_000 })).ok,
    async build(req: EngineBuildRequest): Promise<Image> {
      // Storage of this build alone: names in it are this build's, no lock is shared with another.
      const storage = options.storage ? await mkdtemp(join(await mkdir(options.storage, { recursive: true }).then(() => options.storage!), 'build-')) : join(req.workDir, 'buildah');
      try {
        return await buildIn(storage);
      } finally {
        if (options.storage) await rm(storage, { recursive: true, force: true, maxRetries: 5 });
      }

      async function buildIn(storage: string): Promise<Image> {
        await mkdir(storage, { recursive: true });
        const global = ['--storage-driver', 'vfs', '--root', join(storage, 'root'), '--runroot', join(storage, 'run')];
        const text = await readFile(req.dockerfile, 'utf8');
        const df = parseDockerfile(text, req.dockerfileName ?? req.dockerfile);
        const tool = (args: string[], doing: string) =>
          runTool({ engine: 'buildah', cmd: bin, args: [...global, ...args], env, log: req.log, doing, lines: stepLines(df), ...(req.signal ? { signal: req.signal } : {}) });

        const contextArgs: string[] = [];
        const bases: Image[] = [];
        const load = async (image: Image, localName: string, what: string) => {
          const archive = join(req.workDir, `load-${bases.length}.tar`);
          await writeLocation({ kind: 'tarball', path: archive }, { images: [{ image, platform: imagePlatform(image) }] }, [localName], req.epoch);
          // Its own platform, or buildah warns that it is not this machine's.
          await tool(['pull', '--quiet', '--platform', formatPlatform(imagePlatform(image)), `oci-archive:${archive}`], `loading ${what}`);
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

        // With --platform, buildah 1.28 adds TARGETARCH, TARGETOS, TARGETPLATFORM (TARGETVARIANT)
      // args of its own and warns `build args were not consumed` unless the Dockerfile declares
      // them: declared as global ARGs (as BuildKit predefines them) in a copy in the work folder.
      // So are the platform args a FROM line reads (`FROM --platform=$BUILDPLATFORM`), which berth passes.
      const own = ['TARGETARCH', 'TARGETOS', 'TARGETPLATFORM', ...(req.platform.variant ? ['TARGETVARIANT'] : [])];
      for (const n of argsUsedInFrom(text, Object.keys(platformArgs(req.platform)))) if (!own.includes(n)) own.push(n);
      const globals = new Set(df.metaArgs.flatMap((a) => a.args.map((x) => x.name)));
      const dockerfile = join(req.workDir, 'Dockerfile.buildah');
      await writeFile(dockerfile, declareGlobalArgs(pinTargetPlatform(text), own.filter((n) => !globals.has(n))));
      if (!req.ignoreFile) await copyFile(`${req.dockerfile}.dockerignore`, `${dockerfile}.dockerignore`).catch(() => undefined);
      const iidFile = join(req.workDir, 'buildah.iid');
        const args = engineArgs(df, (names) => argsUsedInFrom(text, names), req.platform, req.buildArgs);
        await tool(
          [
            'bud',
            '--isolation',
            'chroot',
            // Docker's config format keeps HEALTHCHECK, SHELL and ONBUILD, which OCI's drops.
            '--format',
            'docker',
            '--pull=never',
            '--platform',
            formatPlatform(req.platform),
            ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
            ...(req.target ? ['--target', req.target] : []),
            ...contextArgs,
            ...(req.ignoreFile ? ['--ignorefile', req.ignoreFile] : []),
            '-f',
            dockerfile,
            '--iidfile',
            iidFile,
            resolve(req.contextDir),
          ],
          'building',
        );
        const id = (await readFile(iidFile, 'utf8')).trim();
        // A docker-archive keeps the Docker config (an oci-archive would be converted to OCI's).
        const out = join(req.workDir, 'buildah-out.tar');
        await tool(['push', '--quiet', '--disable-compression', id, `docker-archive:${out}`], 'writing out the image');
        const image = withoutEmptyDefaults(await readDockerArchive(out), new Set(df.stages.flatMap((st) => st.instructions.map((i) => i.kind))));
        return normalizeEngineOutput(image, req, { engine: 'buildah', bases, platform: req.platform });
      }
    },
  };
}

/**
 * buildah's Docker format writes `Entrypoint: []`, `Cmd: []`, `OnBuild: []` where nothing set
 * them; Docker writes nothing. Dropped unless the Dockerfile has that instruction.
 */
function withoutEmptyDefaults(image: Image, kinds: ReadonlySet<string>): Image {
  const inner = image.config.config;
  if (!inner) return image;
  const next: Record<string, unknown> = { ...inner };
  for (const [key, kind] of [['Entrypoint', 'ENTRYPOINT'], ['Cmd', 'CMD'], ['OnBuild', 'ONBUILD']] as const) {
    const v = next[key];
    if (Array.isArray(v) && v.length === 0 && !kinds.has(kind)) delete next[key];
  }
  return { ...image, config: { ...image.config, config: next as typeof inner } };
}
