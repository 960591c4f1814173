import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { IgnoreRules } from '../dockerfile/dockerignore.js';
import { dockerfileError } from '../dockerfile/errors.js';
import { parseDockerfile } from '../dockerfile/parse.js';
import { planBuild, type PlannedStage, type Source } from '../dockerfile/plan.js';
import { UsageError } from '../errors.js';
import type { Format } from '../oci/mediatype.js';
import type { Platform } from '../oci/platform.js';
import { parseReference, type Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { describeLocation, type AnyLocation, type Location } from '../transport/location.js';
import type { RegistryOptions } from '../transport/registry.js';
import { DEFAULT_PLATFORM, resolveBase, type BaseSpec } from './build.js';
import { buildahEngine } from './engines/buildah.js';
import { contextLocalName, type EngineChoice, type EngineContext, type RunEngine } from './engines/engine.js';
import { hostPlatform } from './engines/platform-args.js';
import { buildNative, builtFromImage, type Built } from './native.js';
import { withOutputWorkdir, writeImages, type WrittenImages } from './output.js';
import { contextTree, FsTree } from './rootfs.js';

/** A `--build-context NAME=SOURCE`: a folder, or an image berth reads itself. */
export type ContextSource = { kind: 'dir'; path: string } | { kind: 'image'; base: BaseSpec };

/**
 * Parses SOURCE of `--build-context NAME=SOURCE` as BuildKit has it: a folder,
 * `docker-image://REF`, `oci-layout://DIR[:TAG]`, and berth's own `oci:DIR[:NAME]`, an image
 * tarball, a registry reference, or `berth:static` (berth's static base, made offline).
 */
export function parseContextSource(text: string, cwd: string, what: string): ContextSource {
  if (text === 'berth:static') return { kind: 'image', base: { kind: 'static' } };
  if (text.startsWith('docker-image://')) return { kind: 'image', base: { kind: 'location', location: { kind: 'registry', ref: parseReference(text.slice('docker-image://'.length), { what, strict: false }) } } };
  if (text.startsWith('oci-layout://')) {
    const rest = text.slice('oci-layout://'.length);
    const m = /^(.*?)(?::([^/:]+))?$/.exec(rest)!;
    return { kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: resolve(cwd, m[1]!), ...(m[2] ? { name: m[2] } : {}) } } };
  }
  if (text.startsWith('oci:')) {
    const rest = text.slice(4);
    const colon = rest.indexOf(':');
    const dir = colon < 0 ? rest : rest.slice(0, colon);
    return { kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: resolve(cwd, dir), ...(colon >= 0 ? { name: rest.slice(colon + 1) } : {}) } } };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) throw new UsageError('BAD_FLAG', `${what}: unknown source scheme "${scheme[1]}://"; give a folder, an image tarball, oci:DIR[:NAME], docker-image://REF, oci-layout://DIR[:TAG] or berth:static`);
  const path = resolve(cwd, text);
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) return existsSync(join(path, 'oci-layout')) ? { kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: path } } } : { kind: 'dir', path };
    return { kind: 'image', base: { kind: 'location', location: { kind: 'tarball', path } } };
  }
  if (/^[a-z0-9.-]+(:\d+)?\/./i.test(text) || /^[a-z0-9]+(:[\w.-]+)?$/.test(text)) {
    return { kind: 'image', base: { kind: 'location', location: { kind: 'registry', ref: parseReference(text, { what, strict: false }) } } };
  }
  throw new UsageError('UNREADABLE', `${what}: ${text}: no such file or folder`);
}

export interface DockerfileBuildOptions {
  dockerfile: string;
  /** The build context folder (default: the Dockerfile's). */
  context?: string;
  platforms: Platform[];
  target?: string;
  buildArgs: Record<string, string>;
  contexts: Record<string, ContextSource>;
  engine: EngineChoice;
  commitSha?: string;
  labels: Record<string, string>;
  tags: Reference[];
  format: Format;
  compressionLevel: number;
  epoch: number;
  output: Location;
  registry: RegistryOptions;
  /** Warnings and an engine's output, one line each. */
  log: (line: string) => void;
  /** RUN engines to choose from, in order of preference (tests may pass their own). */
  engines?: RunEngine[];
}

export interface DockerfileBuildResult extends WrittenImages {
  engine: 'native' | string;
  warnings: string[];
}

/**
 * Builds a Dockerfile for each platform (an index over several): natively when no stage the
 * target needs has RUN, else through a RUN engine (buildah, Docker) whose output is
 * normalized. Everything is checked before anything is written.
 */
export async function buildDockerfile(opts: DockerfileBuildOptions): Promise<DockerfileBuildResult> {
  const dockerfilePath = resolve(opts.dockerfile);
  const shownName = opts.dockerfile;
  const text = await readFile(dockerfilePath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `--dockerfile ${opts.dockerfile}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code})`}`);
  });
  const contextDir = resolve(opts.context ?? dirname(dockerfilePath));
  if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) throw new UsageError('UNREADABLE', `--context ${opts.context ?? contextDir}: not a folder`);
  const df = parseDockerfile(text, shownName);
  const ignore = await readIgnore(dockerfilePath, contextDir);
  const buildPlatform = hostPlatform();
  const platforms = opts.platforms.length ? opts.platforms : [DEFAULT_PLATFORM];
  const contextNames = new Set(Object.keys(opts.contexts));
  const plans = platforms.map((platform) => planBuild({ dockerfile: df, platform, buildPlatform, buildArgs: opts.buildArgs, contextNames, ...(opts.target ? { target: opts.target } : {}), ...(opts.commitSha ? { commitSha: opts.commitSha } : {}) }));
  const warnings = plans[0]!.warnings;
  for (const w of warnings) opts.log(`warning: ${w}`);
  const engine = await chooseEngine(opts.engine, plans[0]!.hasRun, plans[0]!.stages.find((s) => s.hasRun), opts.engines ?? [buildahEngine()], shownName);

  return withOutputWorkdir(opts.output, async (work) => {
    // Image contexts are read once, per platform on use; folders are walked once.
    const dirTrees = new Map<string, Promise<FsTree>>();
    const dirTree = (path: string) => {
      let t = dirTrees.get(path);
      if (!t) dirTrees.set(path, (t = contextTree(path, () => false, false)));
      return t;
    };
    let context: Promise<FsTree> | undefined;
    const contextOf = () => (context ??= contextTree(contextDir, (p) => ignore.matches(p), ignore.hasExceptions));
    const images = new Map<string, Promise<Built>>();
    const imageOf = (key: string, spec: BaseSpec, platform: Platform, where: string, n: number) => {
      let b = images.get(key);
      if (!b) {
        const dir = join(work, `src-${n}`);
        images.set(key, (b = resolveBase(spec, { platform, epoch: opts.epoch, level: opts.compressionLevel, format: opts.format, work, registry: opts.registry, where: () => where, name: `static-${n}` }).then((img) => builtFromImage(img!, dir))));
      }
      return b;
    };

    const built: { image: Image; platform: Platform }[] = [];
    await Promise.all(
      plans.map(async (plan, i) => {
        const platform = platforms[i]!;
        let counter = 0;
        const source = async (src: Exclude<Source, { kind: 'stage' | 'scratch' }>, stage: PlannedStage, line: number): Promise<Built | FsTree> => {
          const where = `${shownName}:${line}: ${src.kind === 'context' ? src.name : src.ref}`;
          if (src.kind === 'context') {
            const c = opts.contexts[src.name]!;
            if (c.kind === 'dir') return dirTree(c.path);
            return imageOf(`${src.name}@${stage.platform.os}/${stage.platform.architecture}/${stage.platform.variant ?? ''}`, c.base, stage.platform, where, i * 1000 + counter++);
          }
          let ref;
          try {
            ref = parseReference(src.ref, { what: 'FROM', strict: false });
          } catch (err) {
            throw dockerfileError(shownName, line, (err as Error).message);
          }
          const location: AnyLocation = { kind: 'registry', ref };
          return imageOf(`${describeLocation(location)}@${stage.platform.os}/${stage.platform.architecture}/${stage.platform.variant ?? ''}`, { kind: 'location', location }, stage.platform, where, i * 1000 + counter++);
        };
        let image: Image;
        if (engine) {
          image = await runEngine(engine, { opts, dockerfilePath, contextDir, platform, work: join(work, `engine-${i}`), plan, source });
        } else {
          image = await buildNative({ dockerfile: df, plan, context: contextOf, source, labels: opts.labels, format: opts.format, level: opts.compressionLevel, epoch: opts.epoch, work: join(work, `native-${i}`) });
        }
        built[i] = { image, platform };
      }),
    );
    const written = await writeImages(opts.output, built, opts.tags, opts.format, opts.epoch);
    return { ...written, engine: engine?.name ?? 'native', warnings };
  });
}

/** `.dockerignore` of the context, or `<Dockerfile>.dockerignore` beside the Dockerfile, which wins. */
async function readIgnore(dockerfilePath: string, contextDir: string): Promise<IgnoreRules> {
  for (const path of [`${dockerfilePath}.dockerignore`, join(contextDir, '.dockerignore')]) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return IgnoreRules.parse(text, relative(process.cwd(), path) || basename(path));
  }
  return IgnoreRules.parse('');
}

async function chooseEngine(choice: EngineChoice, hasRun: boolean, runStage: PlannedStage | undefined, engines: RunEngine[], file: string): Promise<RunEngine | undefined> {
  if (choice === 'native' || (choice === 'auto' && !hasRun)) {
    if (hasRun && runStage) {
      const run = runStage.stage.instructions.find((i) => i.kind === 'RUN')!;
      throw dockerfileError(file, run.line, 'RUN needs a container engine; --engine native builds no RUN (use --engine auto, buildah or docker)');
    }
    return undefined;
  }
  const candidates = choice === 'auto' ? engines : engines.filter((e) => e.name === choice);
  for (const e of candidates) if (await e.available()) return e;
  const what = choice === 'auto' ? 'buildah (apt-get install buildah) or a running Docker daemon' : choice === 'buildah' ? 'buildah (apt-get install buildah)' : 'a running Docker daemon (docker.io)';
  throw new UsageError('ENGINE_MISSING', `${file}: ${hasRun ? 'a stage the target needs has RUN, which' : `--engine ${choice}`} needs ${what}; none was found`);
}

async function runEngine(
  engine: RunEngine,
  c: { opts: DockerfileBuildOptions; dockerfilePath: string; contextDir: string; platform: Platform; work: string; plan: { stages: PlannedStage[] }; source: (src: Exclude<Source, { kind: 'stage' | 'scratch' }>, stage: PlannedStage, line: number) => Promise<Built | FsTree> },
): Promise<Image> {
  const namedContexts: Record<string, EngineContext> = {};
  for (const [name, ctx] of Object.entries(c.opts.contexts)) {
    if (ctx.kind === 'dir') {
      namedContexts[name] = { kind: 'dir', path: ctx.path };
      continue;
    }
    const stage = c.plan.stages.find((s) => s.base.kind === 'context' && s.base.name === name) ?? c.plan.stages.at(-1)!;
    const got = await c.source({ kind: 'context', name }, stage, stage.stage.from.line);
    const image = (got as Built).image;
    namedContexts[name] = { kind: 'image', image, localName: contextLocalName(name, image) };
  }
  const { mkdir } = await import('node:fs/promises');
  await mkdir(c.work, { recursive: true });
  return engine.build({
    dockerfile: c.dockerfilePath,
    contextDir: c.contextDir,
    ...(c.opts.target ? { target: c.opts.target } : {}),
    platform: c.platform,
    buildArgs: { ...(c.opts.commitSha ? { BUILD_COMMIT_SHA: c.opts.commitSha } : {}), ...c.opts.buildArgs },
    namedContexts,
    workDir: c.work,
    epoch: c.opts.epoch,
    format: c.opts.format,
    compressionLevel: c.opts.compressionLevel,
    log: (line) => c.opts.log(`${engine.name}: ${line}`),
  });
}

