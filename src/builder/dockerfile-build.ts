import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { IgnoreRules } from '../dockerfile/dockerignore.js';
import { dockerfileError } from '../dockerfile/dockerfile-error.js';
import { parseDockerfile } from '../dockerfile/parse.js';
import { planBuild, type PlannedStage, type Source } from '../dockerfile/stage-plan.js';
import { UsageError, withPrefix } from '../errors.js';
import { assembleImage, manifestOver } from '../image/assemble.js';
import type { Digest } from '../oci/digest.js';
import { encodeJson } from '../oci/manifest.js';
import { mediaTypesFor } from '../oci/mediatype.js';
import { normalizeConfig } from './engines/normalize.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { parseReference, type Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { describeLocation, parseAnyLocation, type AnyLocation, type Location } from '../transport/location.js';
import type { RegistryOptions } from '../transport/registry.js';
import { DEFAULT_PLATFORM, resolveBase, type BaseSpec } from './build-image.js';
import { chooseEngine } from './engines/choose.js';
import { contextLocalName, type EngineChoice, type EngineContext, type RunEngine, type RunEngineName } from './engines/engine.js';
import { hostPlatform } from './engines/platform-args.js';
import { cannotRun, readBinfmt, type BinfmtState } from './emulation.js';
import { buildNative, builtFromImage, type Built } from './native.js';
import { redactUrl } from './copy-instruction.js';
import { withOutputWorkdir, writeImages, type WrittenImages } from './output.js';
import { contextTree, FsTree } from './rootfs.js';
import { ignoreFilter, type ContextFilter } from './context-walk.js';
import { pruneToLimit, stepExecutor, type StepOptions } from './steps/index.js';

/** A `--build-context NAME=SOURCE`: a folder, or an image berth reads itself. */
export type ContextSource = { kind: 'dir'; path: string } | { kind: 'image'; base: BaseSpec };

/**
 * Parses SOURCE of `--build-context NAME=SOURCE` as BuildKit has it: a folder,
 * `docker-image://REF`, `oci-layout://DIR[:TAG]`, and berth's own `oci:DIR[:NAME]`, an image
 * tarball, a registry reference, or `berth:static` (berth's static base, made offline).
 */
export function parseContextSource(text: string, cwd: string, what: string): ContextSource {
  // Empty, it would resolve to the current folder: a typo (`foo=$UNSET`) must not mean `.`.
  if (text.trim() === '') throw new UsageError('BAD_FLAG', `${what}: names no source (empty after =); give a folder, an image tarball, oci:DIR[:NAME], docker-image://REF, oci-layout://DIR[:TAG] or berth:static`);
  if (text === 'berth:static') return { kind: 'image', base: { kind: 'static' } };
  if (text.startsWith('docker-image://')) return { kind: 'image', base: { kind: 'location', location: { kind: 'registry', ref: parseReference(text.slice('docker-image://'.length), { what, strict: false }) } } };
  if (text.startsWith('oci-layout://')) {
    const rest = text.slice('oci-layout://'.length);
    const m = /^(.*?)(?::([^/:]+))?$/.exec(rest)!;
    return { kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: resolve(cwd, m[1]!), ...(m[2] ? { name: m[2] } : {}) } } };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme && scheme[1] !== 'docker') throw new UsageError('BAD_FLAG', `${what}: unknown source scheme "${scheme[1]}://"; give a folder, an image tarball, oci:DIR[:NAME], docker-image://REF, oci-layout://DIR[:TAG] or berth:static`);
  const path = resolve(cwd, text);
  if (existsSync(path) && statSync(path).isDirectory() && !existsSync(join(path, 'oci-layout'))) return { kind: 'dir', path };
  // Any image location berth reads elsewhere: a tarball, oci:DIR[:NAME], oci-archive:, docker://REF, a registry reference.
  return { kind: 'image', base: { kind: 'location', location: parseAnyLocation(text, cwd, what) } };
}

export interface DockerfileBuildOptions {
  /** The Dockerfile's absolute path. */
  dockerfile: string;
  /** How errors name it (`Dockerfile:LINE: ...`): as the user wrote it; default its path. */
  dockerfileName?: string;
  /** The build context folder (default: the Dockerfile's). */
  context?: string;
  platforms: Platform[];
  target?: string;
  buildArgs: Record<string, string>;
  contexts: Record<string, ContextSource>;
  /** Images the Dockerfile names by reference (as expanded: `FROM ${BASE}:${TAG}`) that berth has elsewhere (`berth images`' local bases). */
  knownImages?: Record<string, BaseSpec>;
  engine: EngineChoice;
  commitSha?: string;
  /** Asked for the commit when no commitSha is given, only if the build can read it: the Dockerfile names BUILD_COMMIT_SHA, or a RUN engine builds it (a base's ONBUILD could). */
  commitShaLookup?: () => Promise<string | undefined>;
  labels: Record<string, string>;
  tags: Reference[];
  format: Format;
  compressionLevel: number;
  epoch: number;
  output: Location;
  registry: RegistryOptions;
  /** Warnings and an engine's output, one line each. */
  log: (line: string) => void;
  /** RUN engines to choose from (tests may pass their own); by default buildah and Docker as found. */
  engines?: Partial<Record<RunEngineName, RunEngine>>;
  /** Step cache, secrets and RUN mounts (src/builder/steps/): used when buildah runs the RUNs. */
  steps?: StepOptions;
  /** Aborting stops a running engine (its whole process tree) and fails the build. */
  signal?: AbortSignal;
}

export interface DockerfileBuildResult extends WrittenImages {
  /** `native`, or the RUN engine that built it (`buildah`, `docker`). */
  engine: string;
  warnings: string[];
  /** The images the Dockerfile names (FROM, COPY --from), by the digest each platform used: for provenance. */
  bases?: { name: string; digest: Digest }[];
}

/**
 * Builds a Dockerfile for each platform (an index over several): natively when no stage the
 * target needs has RUN, else through a RUN engine (buildah, Docker) whose output is
 * normalized. Everything is checked before anything is written.
 */
export async function buildDockerfile(opts: DockerfileBuildOptions): Promise<DockerfileBuildResult> {
  const dockerfilePath = opts.dockerfile;
  const shownName = opts.dockerfileName ?? opts.dockerfile;
  refuseSpecial(dockerfilePath, `--dockerfile ${shownName}`);
  const text = await readFile(dockerfilePath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `--dockerfile ${shownName}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code})`}`);
  });
  const contextDir = resolve(opts.context ?? dirname(dockerfilePath));
  if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) throw new UsageError('UNREADABLE', `--context ${opts.context ?? contextDir}: not a folder`);
  const df = parseDockerfile(text, shownName);
  let commitSha = opts.commitSha;
  const lookupSha = async () => {
    if (commitSha === undefined && opts.commitShaLookup) commitSha = await opts.commitShaLookup();
  };
  if (text.includes('BUILD_COMMIT_SHA')) await lookupSha();
  const ignoreFile = await readIgnoreFile(dockerfilePath, contextDir);
  const ignore = IgnoreRules.parse(ignoreFile?.text ?? '', ignoreFile?.path);
  const buildPlatform = hostPlatform();
  const platforms = dockerfilePlatforms(opts.platforms);
  const contextNames = new Set(Object.keys(opts.contexts));
  const plans = platforms.map((platform) => planBuild({ dockerfile: df, platform, buildPlatform, buildArgs: opts.buildArgs, contextNames, ...(opts.target ? { target: opts.target } : {}), ...(commitSha ? { commitSha } : {}) }));
  // Every engine's rule, checked before any runs: an ADD of a URL has --checksum.
  for (const ins of plans.flatMap((p) => p.stages).flatMap((st) => st.stage.instructions)) {
    if (ins.kind !== 'ADD' || ins.checksum !== undefined) continue;
    const url = ins.sources.find((src) => /^[a-z][a-z0-9+.-]*:\/\//i.test(src) || src.startsWith('git@'));
    if (url) throw dockerfileError(shownName, ins.line, `ADD: "${redactUrl(url)}": ADD of a URL needs --checksum=sha256:<hex>, so the build is reproducible`);
  }
  const warnings = plans[0]!.warnings;
  for (const w of warnings) opts.log(`warning: ${w}`);
  const firstRun = plans.flatMap((p) => p.stages).flatMap((s) => s.stage.instructions).find((i) => i.kind === 'RUN');
  const chosen = await chooseEngine({ choice: opts.engine, ...(firstRun ? { firstRun: `${shownName}:${firstRun.line}` } : {}), ...(opts.engines ? { engines: opts.engines } : {}) });
  const engine = chosen.kind === 'run' ? chosen.engine : undefined;
  // buildah runs RUN steps one by one under berth (steps/), unless a test brought its own engine.
  const stepwise = chosen.kind === 'run' && chosen.stepwise;
  if (engine) checkEmulation(plans.flatMap((p) => p.stages), shownName);
  if (engine) await lookupSha();
  opts = { ...opts, ...(commitSha ? { commitSha } : {}) };

  return withOutputWorkdir(opts.output, async (work) => {
    // Image contexts are read once, per platform on use; folders are walked once.
    const dirTrees = new Map<string, Promise<FsTree>>();
    const dirTree = (path: string) => {
      let t = dirTrees.get(path);
      if (!t) dirTrees.set(path, (t = contextTree(path)));
      return t;
    };
    let context: Promise<FsTree> | undefined;
    const contextOf = () => (context ??= contextTree(contextDir, withoutWorkFolder(ignoreFilter(ignore), contextDir, work)));
    const resolved = new Map<string, Promise<Image>>();
    const images = new Map<string, Promise<Built>>();
    const imageOf = (key: string, spec: BaseSpec, platform: Platform, where: string, contents: boolean) => {
      const n = images.size;
      let img = resolved.get(key);
      if (!img) resolved.set(key, (img = resolveBase(spec, { platform, epoch: opts.epoch, level: opts.compressionLevel, format: opts.format, work, registry: opts.registry, where: () => where, name: `static-${resolved.size}` }).then((i) => i!)));
      const treeKey = `${key} ${contents}`;
      let b = images.get(treeKey);
      if (!b) images.set(treeKey, (b = img.then((i) => builtFromImage(i, join(work, `src-${n}`), contents))));
      return b;
    };

    const built: { image: Image; platform: Platform }[] = [];
    const bases = new Map<string, { name: string; digest: Digest }>();
    const buildOne = async (plan: (typeof plans)[number], i: number) => {
      const platform = platforms[i]!;
      const source = async (src: Exclude<Source, { kind: 'stage' | 'scratch' }>, stage: PlannedStage, line: number, contents: boolean): Promise<Built | FsTree> => {
        const where = `${shownName}:${line}: ${src.kind === 'context' ? src.name : src.ref}`;
        const key = (name: string) => `${name}@${stage.platform.os}/${stage.platform.architecture}/${stage.platform.variant ?? ''}`;
        if (src.kind === 'context') {
          const c = opts.contexts[src.name]!;
          if (c.kind === 'dir') return dirTree(c.path);
          return imageOf(key(src.name), c.base, stage.platform, where, contents);
        }
        const known = opts.knownImages && Object.hasOwn(opts.knownImages, src.ref) ? opts.knownImages[src.ref] : undefined;
        if (known) return imageOf(key(`known ${src.ref}`), known, stage.platform, where, contents);
        let ref;
        try {
          ref = parseReference(src.ref, { what: 'FROM', strict: false });
        } catch (err) {
          throw dockerfileError(shownName, line, (err as Error).message);
        }
        const location: AnyLocation = { kind: 'registry', ref };
        const got = await imageOf(key(describeLocation(location)), { kind: 'location', location }, stage.platform, where, contents);
        bases.set(`${describeLocation(location)}@${got.image.digest}`, { name: describeLocation(location), digest: got.image.digest });
        return got;
      };
      const image = stepwise
        ? await withSteps(opts, contextDir, ignore.isEmpty() && workInContext(contextDir, work) === undefined, platform, join(work, `steps-${i}`), (run) => buildNative({ dockerfile: df, plan, context: contextOf, source, labels: opts.labels, format: opts.format, level: opts.compressionLevel, epoch: opts.epoch, work: join(work, `native-${i}`), warn: (line) => opts.log(`warning: ${line}`), run }))
        : engine
        ? withLabels(scratchWorkdir(await runEngine(engine, { opts, dockerfilePath, contextDir, platform, work: join(work, `engine-${i}`), ignoreText: engineIgnoreText(ignoreFile?.text ?? '', contextDir, work), plan, source }), plan.stages.at(-1)!, opts, platform), opts.labels, platform, opts)
        : await buildNative({ dockerfile: df, plan, context: contextOf, source, labels: opts.labels, format: opts.format, level: opts.compressionLevel, epoch: opts.epoch, work: join(work, `native-${i}`), warn: (line) => opts.log(`warning: ${line}`), fetchLimits: { ...(opts.registry.timeoutMs !== undefined ? { idleMs: opts.registry.timeoutMs } : {}), ...(opts.registry.retry ? { retry: opts.registry.retry } : {}) } });
      built[i] = { image, platform };
    };
    // One platform at a time: each layer's gzip already keeps every core busy, and several
    // platforms' layers at once only queue on libuv's threadpool behind one another's
    // compression, starving the file reads (measured: 1.43x slower than one after another).
    // An engine has its own store and parallelism. Stages of one platform still run at once.
    for (const [i, plan] of plans.entries()) await buildOne(plan, i);
    const written = await writeImages(opts.output, built, opts.tags, opts.format, opts.epoch);
    return { ...written, engine: engine?.name ?? 'native', warnings, bases: [...bases.values()] };
  });
}

/**
 * The context's walk without this build's own work folder, which goes beside an output in the
 * context (`--output out.tar` run in the context folder): berth's scratch is never the user's
 * files, and its random name would give every build another digest. Docker's outputs are never
 * in the context either.
 */
function withoutWorkFolder(filter: ContextFilter, contextDir: string, work: string): ContextFilter {
  const own = workInContext(contextDir, work);
  if (own === undefined) return filter;
  const excluded = filter.excluded ?? (() => false);
  return { ...filter, excluded: (path, isDir) => path === own || path.startsWith(`${own}/`) || excluded(path, isDir) };
}

/** The work folder's path in the context (`out/.berth-work-…`), or undefined when it is outside. */
function workInContext(contextDir: string, work: string): string | undefined {
  const own = relative(contextDir, work).split(sep).join('/');
  return own === '..' || own.startsWith('../') ? undefined : own;
}

/**
 * The ignore file a RUN engine gets: the rules berth read (the Dockerfile's own, else the
 * context's), and the work folder after them when it is in the context, so the engine's
 * context holds what the native engine's does.
 */
function engineIgnoreText(text: string, contextDir: string, work: string): string {
  const own = workInContext(contextDir, work);
  return own === undefined ? text : `${text}${text && !text.endsWith('\n') ? '\n' : ''}/${own}\n`;
}

/** Runs `build` with a step executor for this build's options, its working containers removed after. */
async function withSteps(opts: DockerfileBuildOptions, contextDir: string, contextWhole: boolean, platform: Platform, work: string, build: (run: ReturnType<typeof stepExecutor>) => Promise<Image>): Promise<Image> {
  const run = stepExecutor({ ...opts.steps, ...(opts.signal ? { signal: opts.signal } : {}), cacheDir: opts.steps?.cacheDir ?? opts.registry.cacheDir, epoch: opts.epoch, level: opts.compressionLevel, contextDir, contextWhole, registry: opts.registry, log: (line) => opts.log(`buildah: ${line}`) });
  try {
    // Its config as a RUN engine's normalized output is, so the digest is the one `--engine docker` gives.
    const out = asEngineOutput(await build(run), opts.epoch, opts.format, platform);
    await run.pushMounts(join(work, 'cache-mounts'));
    // New steps stored: keep the folder within its bound ($BERTH_CACHE_MAX_SIZE, else 10 GiB).
    if (run.counts.ran + run.counts.remote > 0) await pruneToLimit(opts.steps?.cacheDir ?? opts.registry.cacheDir, opts.steps?.env ?? process.env);
    return out;
  } finally {
    await run.close();
  }
}

/**
 * BuildKit gives an image FROM scratch `WorkingDir: /`, as the native and step-by-step paths
 * do; classic Docker and buildah leave it unset. Set here, so one Dockerfile has one digest
 * whichever engine built it.
 */
function scratchWorkdir(image: Image, target: PlannedStage, opts: { epoch: number; format: Format }, platform: Platform): Image {
  if (target.base.kind !== 'scratch' || image.config.config?.WorkingDir) return image;
  return asEngineOutput({ ...image, config: { ...image.config, config: { ...image.config.config, WorkingDir: '/' } } }, opts.epoch, opts.format, platform);
}

function asEngineOutput(image: Image, epoch: number, format: Format, platform: Platform): Image {
  const config = normalizeConfig({ ...image.config, os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }, image.config.rootfs.diff_ids as Digest[], image.config.history ?? [], epoch);
  const configRaw = encodeJson(config);
  return { ...image, ...manifestOver(configRaw, image.manifest.layers, mediaTypesFor(format)), configRaw, config };
}

/** An engine's image with --label/--labels-from-status added to its config (no new layer or history). */
function withLabels(image: Image, labels: Record<string, string>, platform: Platform, opts: { epoch: number; format: Format }): Image {
  if (Object.keys(labels).length === 0) return image;
  const assembled = assembleImage({ base: { layers: image.manifest.layers, config: image.config }, layers: [], changes: { platform, created: opts.epoch, labels, history: [] }, format: opts.format });
  return { ...image, ...assembled };
}

/** A FIFO, socket or device where a file is read would block or never end: refused (one line, exit 2). */
function refuseSpecial(path: string, what: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return; // absent: the reader says so
  }
  if (!st.isFile()) throw new UsageError('UNREADABLE', `${what}: ${st.isDirectory() ? 'a folder' : 'not a regular file (a FIFO, socket or device)'}; give a file`);
}

/**
 * The platforms to build, as BuildKit normalizes them: `linux/arm64/v8` is `linux/arm64` (its
 * TARGETVARIANT empty), and a platform named twice is built once (one index entry each).
 */
export function dockerfilePlatforms(asked: readonly Platform[]): Platform[] {
  const out = new Map<string, Platform>();
  for (const p of asked.length ? asked : [DEFAULT_PLATFORM]) {
    const normal = p.architecture === 'arm64' && p.variant === 'v8' ? { os: p.os, architecture: p.architecture } : p;
    out.set(formatPlatform(normal), normal);
  }
  return [...out.values()];
}

/** `.dockerignore` of the context, or `<Dockerfile>.dockerignore` beside the Dockerfile, which wins (the content hash of `berth images` reads the same). */
export async function readIgnore(dockerfilePath: string, contextDir: string): Promise<IgnoreRules> {
  const file = await readIgnoreFile(dockerfilePath, contextDir);
  return IgnoreRules.parse(file?.text ?? '', file?.path);
}

/** The ignore file readIgnore reads, as text, or undefined when there is none. */
async function readIgnoreFile(dockerfilePath: string, contextDir: string): Promise<{ path: string; text: string } | undefined> {
  for (const path of [`${dockerfilePath}.dockerignore`, join(contextDir, '.dockerignore')]) {
    refuseSpecial(path, path);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

async function runEngine(
  engine: RunEngine,
  c: { opts: DockerfileBuildOptions; dockerfilePath: string; contextDir: string; platform: Platform; work: string; ignoreText: string; plan: { stages: PlannedStage[] }; source: (src: Exclude<Source, { kind: 'stage' | 'scratch' }>, stage: PlannedStage, line: number, contents: boolean) => Promise<Built | FsTree> },
): Promise<Image> {
  const namedContexts: Record<string, EngineContext> = {};
  for (const [name, ctx] of Object.entries(c.opts.contexts)) {
    if (ctx.kind === 'dir') {
      namedContexts[name] = { kind: 'dir', path: ctx.path };
      continue;
    }
    const stage = c.plan.stages.find((s) => s.base.kind === 'context' && s.base.name === name) ?? c.plan.stages.at(-1)!;
    const got = await c.source({ kind: 'context', name }, stage, stage.stage.from.line, false);
    const image = (got as Built).image;
    namedContexts[name] = { kind: 'image', image, localName: contextLocalName(name, image) };
  }
  // Images the Dockerfile names by reference, read by berth for each stage's platform: the engine never pulls.
  const images: { ref: string; image: Image }[] = [];
  for (const stage of c.plan.stages) {
    const refs: [string, number][] = [];
    if (stage.base.kind === 'image') refs.push([stage.base.ref, stage.stage.from.line]);
    for (const [ins, src] of stage.copyFrom) if (src.kind === 'image') refs.push([src.ref, ins.line]);
    for (const [ref, line] of refs) {
      if (images.some((i) => i.ref === ref)) continue;
      const got = await c.source({ kind: 'image', ref }, stage, line, false);
      images.push({ ref, image: (got as Built).image });
    }
  }
  await mkdir(c.work, { recursive: true });
  const ignoreFile = join(c.work, 'context.dockerignore');
  await writeFile(ignoreFile, c.ignoreText);
  return engine.build({
    dockerfile: c.dockerfilePath,
    ...(c.opts.dockerfileName ? { dockerfileName: c.opts.dockerfileName } : {}),
    ...(c.opts.signal ? { signal: c.opts.signal } : {}),
    contextDir: c.contextDir,
    ignoreFile,
    ...(c.opts.target ? { target: c.opts.target } : {}),
    platform: c.platform,
    buildArgs: { ...(c.opts.commitSha ? { BUILD_COMMIT_SHA: c.opts.commitSha } : {}), ...c.opts.buildArgs },
    namedContexts,
    ...(images.length ? { images } : {}),
    workDir: c.work,
    epoch: c.opts.epoch,
    format: c.opts.format,
    compressionLevel: c.opts.compressionLevel,
    // As it comes, line by line, saying whose: `buildah linux/arm64: STEP 2/3: RUN make`.
    log: (line) => c.opts.log(`${engine.name} ${formatPlatform(c.platform)}: ${line}`),
  }).catch((err: unknown) => {
    // Which platform failed: several may be built, by this call or by others at once.
    throw withPrefix(err, `${formatPlatform(c.platform)}: `);
  });
}


function lazyBinfmt(): () => BinfmtState {
  let state: BinfmtState | undefined;
  return () => (state ??= readBinfmt());
}

/**
 * A RUN for a platform this machine cannot execute needs an emulator in binfmt_misc: exit 2
 * naming the line, the platform and what to install, before any work.
 */
function checkEmulation(stages: readonly PlannedStage[], shownName: string): void {
  const binfmt = lazyBinfmt();
  for (const st of stages) {
    const run = st.stage.instructions.find((i) => i.kind === 'RUN');
    const why = run && cannotRun(st.platform, hostPlatform(), binfmt());
    if (why) throw new UsageError('FOREIGN_BINARY', `${shownName}:${run.line}: ${why}`);
  }
}

/**
 * The emulation check of buildDockerfile on its own, for a caller about to run several builds
 * (`berth images`): it refuses them all before the first starts. Reads and plans the Dockerfile.
 */
export async function checkRunPlatforms(opts: Pick<DockerfileBuildOptions, 'dockerfile' | 'dockerfileName' | 'platforms' | 'buildArgs' | 'target' | 'commitSha'> & { contextNames: readonly string[] }): Promise<void> {
  const shownName = opts.dockerfileName ?? opts.dockerfile;
  const df = parseDockerfile(await readFile(opts.dockerfile, 'utf8'), shownName);
  const contextNames = new Set(opts.contextNames);
  const stages = opts.platforms.flatMap((platform) => planBuild({ dockerfile: df, platform, buildPlatform: hostPlatform(), buildArgs: opts.buildArgs, contextNames, ...(opts.target ? { target: opts.target } : {}), ...(opts.commitSha ? { commitSha: opts.commitSha } : {}) }).stages);
  checkEmulation(stages, shownName);
}
