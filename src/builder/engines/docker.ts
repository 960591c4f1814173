import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatPlatform } from '../../oci/platform.js';
import { daemonAnswers, loadIntoDaemon } from '../../transport/daemon.js';
import { readDockerArchive } from '../../transport/docker-archive.js';
import type { Image } from '../../transport/image.js';
import { imagePlatform } from '../../transport/select.js';
import type { EngineBuildRequest, RunEngine } from './engine.js';
import { normalizeEngineOutput } from './normalize.js';
import { engineArgs, platformArgs } from './platform-args.js';
import { contextLocalName } from './engine.js';
import { stepLines } from './steps.js';
import { parseDockerfile } from '../../dockerfile/parse.js';
import { argsUsedInFrom, declareGlobalArgs, rewriteContextRefs } from './rewrite-contexts.js';
import { runTool } from './run-tool.js';

export interface DockerOptions {
  /** The docker CLI (default `docker` on PATH). */
  bin?: string;
  /** The environment the CLI runs in: DOCKER_HOST, DOCKER_BUILDKIT, DOCKER_CONFIG are honoured. */
  env?: NodeJS.ProcessEnv;
  /** How long `docker version` may take to answer before Docker counts as absent. */
  probeTimeoutMs?: number;
}

/**
 * A Docker daemon (Debian's docker.io 20.10, or later) driven through the `docker` CLI.
 * `docker build` runs with the classic builder unless DOCKER_BUILDKIT=1 is set (20.10's
 * built-in BuildKit, which needs `--network none` when the daemon has no bridge). The
 * classic builder defines no platform args, so those a FROM uses are declared as global
 * ARGs; and it refuses `COPY --from` a stage of another platform (the cross-compile
 * pattern), so it is not given `--platform`: every image it starts from is one berth loaded
 * for the right platform, and the result's config is stated to be for the requested one.
 * Docker 20.10 has no `--build-context`, so image contexts are `docker load`ed under their
 * local names, folder contexts become images of their own (`FROM scratch` + `COPY . /`),
 * and the Dockerfile's `FROM NAME` / `COPY --from=NAME` / `RUN --mount=from=NAME` are rewritten to those names. The
 * result comes back through `docker save` (either format) and is normalized.
 */
export function dockerEngine(options: DockerOptions = {}): RunEngine {
  const bin = options.bin ?? 'docker';
  const env = options.env ?? process.env;
  const buildkit = env.DOCKER_BUILDKIT === '1';
  return {
    name: 'docker',
    available: () => daemonAnswers('docker', { bin, env, timeoutMs: options.probeTimeoutMs ?? 5000 }),
    async build(req: EngineBuildRequest): Promise<Image> {
      const original = await readFile(req.dockerfile, 'utf8');
      const lines = stepLines(parseDockerfile(original, req.dockerfileName ?? req.dockerfile));
      const tool = (args: string[], doing: string, extraEnv: NodeJS.ProcessEnv = {}, hiddenSteps = 0) =>
        runTool({ engine: 'docker', cmd: bin, args, env: { ...env, ...extraEnv }, log: req.log, doing, hiddenSteps, lines, ...(req.signal ? { signal: req.signal } : {}) });
      const builderEnv = { DOCKER_BUILDKIT: buildkit ? '1' : '0' };

      const localNames: Record<string, string> = {};
      const bases: Image[] = [];
      const made: string[] = [];
      try {
        return await buildWith();
      } finally {
        for (const name of made) await tool(['rmi', '--force', name], 'removing a folder context image').catch(() => {});
      }

      async function buildWith(): Promise<Image> {
        const load = async (image: Image, localName: string, what: string) => {
          await loadIntoDaemon('docker', { images: [{ image, platform: imagePlatform(image) }] }, [localName], req.epoch, {
            archive: join(req.workDir, `load-${bases.length}.tar`),
            run: async (args) => void (await tool(args, `loading ${what}`)),
          });
          bases.push(image);
        };
        for (const [name, ctx] of Object.entries(req.namedContexts)) {
          if (ctx.kind === 'image') {
            localNames[name] = ctx.localName;
            await load(ctx.image, ctx.localName, `image context ${name}`);
          } else {
            const localName = dirContextName(name, req.workDir);
            localNames[name] = localName;
            const dockerfile = join(req.workDir, `context-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.Dockerfile`);
            await writeFile(dockerfile, 'FROM scratch\nCOPY . /\n');
            await tool(['build', '--quiet', '--tag', localName, '--file', dockerfile, resolve(ctx.path)], `loading folder context ${name}`, builderEnv);
            made.push(localName);
          }
        }
        // An image named by reference is loaded under a name of its content (two builds at once
        // may load two platforms of one reference into the daemon) and the Dockerfile rewritten
        // to it; only a FROM spelt with a variable still needs the reference itself.
        const variableFrom = /^\s*FROM\s[^\n]*\$/im.test(original);
        for (const { ref, image } of req.images ?? []) {
          const own = contextLocalName(`ref-${ref}`, image);
          if (!Object.hasOwn(localNames, ref)) localNames[ref] = own;
          await load(image, own, `image ${ref}`);
          if (variableFrom) await tool(['tag', own, ref], `naming image ${ref}`);
        }

        const dockerfile = join(req.workDir, 'Dockerfile.docker');
        const platform = platformArgs(req.platform);
        const rewritten = rewriteContextRefs(original, localNames);
        const declared = buildkit ? [] : argsUsedInFrom(rewritten, Object.keys(platform));
        await writeFile(dockerfile, declareGlobalArgs(rewritten, declared));
        // BuildKit reads `<Dockerfile>.dockerignore` over the context's; the classic builder
        // reads only the context's (docs/dockerfile.md).
        if (buildkit && req.ignoreFile) await copyFile(req.ignoreFile, `${dockerfile}.dockerignore`);
        const iidFile = join(req.workDir, 'docker.iid');
        const args = engineArgs(parseDockerfile(rewritten, 'Dockerfile'), (names) => [...declared, ...argsUsedInFrom(rewritten, names)], req.platform, req.buildArgs);
        // The result under a name of this build alone: removing it never removes an identical
        // image another build is still writing out.
        const builtName = `localhost/berth-built/${dirContextName('image', req.workDir).split('/').pop()!.replace(':', '-')}:latest`;
        await tool(
          [
            'build',
            ...(buildkit ? ['--progress', 'plain', '--network', 'none', '--platform', formatPlatform(req.platform)] : ['--rm', '--force-rm']),
            ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
            ...(req.target ? ['--target', req.target] : []),
            '--file',
            dockerfile,
            '--iidfile',
            iidFile,
            '--tag',
            builtName,
            resolve(req.contextDir),
          ],
          'building',
          builderEnv,
          declared.length,
        );
        const out = join(req.workDir, 'docker-out.tar');
        try {
          await tool(['save', '--output', out, builtName], 'writing out the image');
        } finally {
          await tool(['rmi', builtName], 'removing the built image').catch(() => {});
        }
        const image = await readDockerArchive(out);
        return normalizeEngineOutput(image, req, { engine: 'docker', bases, platform: req.platform });
      }
    },
  };
}

/** A folder context's image name, unique to this build. */
function dirContextName(name: string, workDir: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'context';
  const unique = workDir.replace(/[^A-Za-z0-9]/g, '').slice(-12).toLowerCase();
  return `localhost/berth-context/${clean}-dir:${unique || 'latest'}`;
}
