import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLayer } from '../blob/layer.js';
import type { TarEntry } from '../blob/tar.js';
import { dispatchStage, type Op, type RunStep } from '../dockerfile/dispatch.js';
import { dockerfileError } from '../dockerfile/dockerfile-error.js';
import type { Dockerfile } from '../dockerfile/instructions.js';
import type { BuildPlan, PlannedStage, Source } from '../dockerfile/stage-plan.js';
import { assembleImage, type NewLayer } from '../image/assemble.js';
import { scratchConfig } from '../image/config.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/manifest.js';
import type { Platform } from '../oci/platform.js';
import type { Format } from '../oci/mediatype.js';
import { fileBlobs } from '../transport/file-blobs.js';
import type { BlobSource, Image } from '../transport/image.js';
import { copyEntries, resolveOwner, type FetchLimits } from './copy-instruction.js';
import { canonicalCreatedBy, specOrder } from './engines/normalize.js';
import { sha256Of } from '../oci/digest.js';
import { encodeJson } from '../oci/manifest.js';
import { FsTree, imageTree } from './rootfs.js';

/** What a stage or a named source gives COPY --from and FROM. */
export interface Built {
  image: Image;
  /** Its file system, read when first needed. */
  tree: () => Promise<FsTree>;
  /** A stage's ARG values at its end, which a stage FROM it inherits (as BuildKit does). */
  args?: ReadonlyMap<string, string>;
}

export interface NativeOptions {
  dockerfile: Dockerfile;
  plan: BuildPlan;
  /** The build context, already filtered by .dockerignore. */
  context: () => Promise<FsTree>;
  /**
   * A FROM or COPY --from source that is not a stage: a named context or an image.
   * `contents`: its files' contents will be copied out (else only its metadata is read).
   */
  source: (src: Exclude<Source, { kind: 'stage' | 'scratch' }>, stage: PlannedStage, line: number, contents: boolean) => Promise<Built | FsTree>;
  /** Labels added to the target's config (--labels-from-status). */
  labels: Record<string, string>;
  format: Format;
  level: number;
  epoch: number;
  work: string;
  /** A warning about the build (a foreign ELF file copied into the target's image). */
  warn?: (line: string) => void;
  /** Runs RUN steps (src/builder/steps/); without it a RUN is refused. */
  run?: RunStepper;
  /** ADD <url> limits (default DEFAULT_FETCH_LIMITS). */
  fetchLimits?: FetchLimits;
}

/** What runs a RUN step for the native engine: its layer, or undefined when it changed no file. */
export interface RunStepper {
  run(input: RunStepInput): Promise<{ digest: Digest; diffID: Digest; size: number; path: string } | undefined>;
  /** The history text of an instruction, as the engine that runs RUN writes it. */
  historyText?(op: Op): string;
}

export interface RunStepInput {
  step: RunStep;
  planned: PlannedStage;
  /** The Dockerfile's name in messages. */
  file: string;
  /** The stage's layers so far, the base's first, and where to read them. */
  parent: { layers: Descriptor[]; diffIDs: Digest[]; blobs: BlobSource };
  /** The stage's file tree; the stepper applies the RUN's changes to it. */
  tree: FsTree;
  /** A scratch folder of this stage. */
  work: string;
  /** Where a `--mount=from=` reads (in the plan's order of the RUN's mounts with from=). */
  mountFrom: (Built | FsTree)[];
  /** The build context (a bind mount without from=). */
  context: () => Promise<FsTree>;
}

/**
 * Builds the plan's stages with no daemon: each stage's config from its instructions, one
 * layer per COPY/ADD (and per WORKDIR that creates a folder), every byte reproducible.
 * Stages that do not depend on one another are built at once.
 */
export async function buildNative(opts: NativeOptions): Promise<Image> {
  const { dockerfile: df } = opts;
  const started = new Map<number, Promise<Built>>();
  const byIndex = new Map(opts.plan.stages.map((p) => [p.stage.index, p]));
  // Stages whose files are copied out (COPY --from), and the stages they are built on.
  const copiedFrom = new Set<number>();
  const markCopied = (index: number): void => {
    if (copiedFrom.has(index)) return;
    copiedFrom.add(index);
    const base = byIndex.get(index)?.base;
    if (base?.kind === 'stage') markCopied(base.index);
  };
  for (const p of opts.plan.stages) for (const src of p.copyFrom.values()) if (src.kind === 'stage') markCopied(src.index);
  const stage = (index: number): Promise<Built> => {
    let p = started.get(index);
    if (!p) {
      p = buildStage(byIndex.get(index)!);
      started.set(index, p);
    }
    return p;
  };

  const buildStage = async (planned: PlannedStage): Promise<Built> => {
    const work = join(opts.work, `stage-${planned.stage.index}`);
    await mkdir(work, { recursive: true });
    const fromLine = planned.stage.from.line;
    let base: Built | undefined;
    if (planned.base.kind === 'stage') base = await stage(planned.base.index);
    else if (planned.base.kind !== 'scratch') {
      const got = await opts.source(planned.base, planned, fromLine, copiedFrom.has(planned.stage.index));
      if (got instanceof FsTree) throw dockerfileError(df.file, fromLine, `FROM ${planned.base.kind === 'context' ? planned.base.name : planned.base.ref}: that build context is a folder, not an image`);
      base = got;
    }
    const baseConfig = base?.image.config ?? dockerfileScratch(planned.platform);
    const dispatched = dispatchStage(df, planned, withPath(baseConfig.config ?? {}, planned.platform), planned.base.kind === 'stage' ? base?.args : undefined);
    if (planned === opts.plan.target && Object.keys(opts.labels).length) dispatched.config.Labels = { ...(dispatched.config.Labels ?? {}), ...opts.labels };

    let tree: FsTree | undefined;
    const stageTree = async () => (tree ??= base ? (await base.tree()).clone() : new FsTree('rootfs'));
    const built = new Map<Digest, string>();
    const layers: NewLayer[] = [];
    const history: HistoryEntry[] = [];
    for (const [n, op] of dispatched.ops.entries()) {
      if (op.layer?.kind === 'run' && opts.run) {
        const ins = planned.stage.instructions.find((i) => i.line === op.layer!.line && i.kind === 'RUN');
        const mountFrom = await Promise.all((planned.mountFrom.get(ins as never) ?? []).map((src) => sourceOf(src, planned, op.layer!.line)));
        const parent = { layers: [...(base?.image.manifest.layers ?? []), ...layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size }))], diffIDs: [...((base?.image.config.rootfs.diff_ids ?? []) as Digest[]), ...layers.map((l) => l.diffID)], blobs: fileBlobs(built, `berth build --dockerfile (${planned.label})`, base?.image.blobs) };
        const got = await opts.run.run({ step: op.layer, planned, file: df.file, parent, tree: await stageTree(), work: join(work, `run-${n}`), mountFrom, context: opts.context });
        const h: HistoryEntry = { created_by: opts.run.historyText?.(op) ?? canonicalCreatedBy(op.createdBy) };
        if (!got) {
          history.push({ ...h, empty_layer: true });
          continue;
        }
        built.set(got.digest, got.path);
        layers.push({ digest: got.digest, diffID: got.diffID, size: got.size, history: h });
        history.push(h);
        continue;
      }
      const entries = await layerEntries(op, planned, stageTree, work);
      // The text the engine path records too, so native and engine builds give one digest.
      const createdBy = opts.run?.historyText?.(op) ?? canonicalCreatedBy(op.createdBy);
      if (!entries) {
        history.push({ created_by: createdBy, empty_layer: true });
        continue;
      }
      const path = join(work, `layer-${n}`);
      const layer = await buildLayer(entries, { outPath: path, level: opts.level });
      built.set(layer.digest, path);
      const h: HistoryEntry = { created_by: createdBy };
      layers.push({ ...layer, history: h });
      history.push(h);
    }
    const assembled = assembleImage({
      base: base ? { layers: base.image.manifest.layers, config: baseConfig } : undefined,
      layers,
      changes: { platform: planned.platform, created: opts.epoch, containerConfig: dispatched.config, history, ...(dispatched.author !== undefined ? { author: dispatched.author } : {}) },
      format: opts.format,
    });
    // The config's keys in the order the engine path writes them: one digest for one image.
    const configRaw = encodeJson(specOrder(assembled.config));
    const manifest = { ...assembled.manifest, config: { ...assembled.manifest.config, digest: sha256Of(configRaw), size: configRaw.length } };
    const manifestRaw = encodeJson(manifest);
    const ordered = { ...assembled, config: JSON.parse(Buffer.from(configRaw).toString('utf8')) as ImageConfig, configRaw, manifest, manifestRaw, digest: sha256Of(manifestRaw) };
    const image: Image = { kind: 'image', ...ordered, blobs: fileBlobs(built, `berth build --dockerfile (${planned.label})`, base?.image.blobs) };
    return { image, tree: stageTree, args: dispatched.args };
  };

  const layerEntries = async (op: Op, planned: PlannedStage, stageTree: () => Promise<FsTree>, work: string): Promise<TarEntry[] | undefined> => {
    const layer = op.layer;
    if (!layer) return undefined;
    if (layer.kind === 'run') {
      throw dockerfileError(df.file, layer.line, 'RUN needs a container engine; the native engine builds no RUN (use --engine auto, buildah or docker)');
    }
    const target = await stageTree();
    if (layer.kind === 'workdir') {
      const parts = layer.path.split('/').filter(Boolean);
      const missing: TarEntry[] = [];
      for (let i = 1; i <= parts.length; i++) {
        const p = parts.slice(0, i).join('/');
        const node = target.get(p);
        if (node?.type === 'directory') continue;
        if (node) return undefined; // a file or link of that name: Docker fails at run time; nothing to add here
        missing.push({ path: p, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: opts.epoch });
      }
      if (missing.length === 0) return undefined;
      // Made by the current USER, as BuildKit and buildah make it.
      if (layer.user !== undefined) {
        const [user = '', group] = layer.user.split(':');
        const owner = await resolveOwner(group === undefined ? { user } : { user, group }, target, (what) => dockerfileError(df.file, layer.line, `WORKDIR (as USER ${layer.user}): ${what.replace(/^--chown(=\S*)?: /, '')}`));
        for (const m of missing) Object.assign(m, { uid: owner.uid, gid: owner.gid });
      }
      // Parents that exist go in as they are, as in a layer diff.
      const entries = parts.map((_, i) => parts.slice(0, i + 1).join('/')).map((p): TarEntry => {
        const node = target.get(p);
        return node ? { path: p, type: 'directory', mode: node.mode, uid: node.uid, gid: node.gid, mtime: opts.epoch } : missing.find((m) => m.path === p)!;
      });
      for (const m of missing) target.set(m.path, { type: 'directory', mode: m.mode, uid: m.uid, gid: m.gid });
      return entries;
    }
    let from: FsTree;
    const src = layer.from;
    if (src.kind === 'build-context') from = await opts.context();
    else {
      const got = await sourceOf(src, planned, layer.line);
      from = got instanceof FsTree ? got : await got.tree();
    }
    // Only the target's files run on its platform: a builder stage may hold cross-compiled ones.
    const check = { ...(planned === opts.plan.target && opts.warn ? { platform: planned.platform } : {}), ...(opts.warn ? { warn: opts.warn } : {}) };
    return copyEntries({ step: layer, file: df.file, from, target, epoch: opts.epoch, work, ...check, ...(opts.fetchLimits ? { fetchLimits: opts.fetchLimits } : {}) });
  };

  const sourceOf = async (src: Source, planned: PlannedStage, line: number): Promise<Built | FsTree> => {
    if (src.kind === 'stage') return stage(src.index);
    if (src.kind === 'scratch') return new FsTree('rootfs');
    return opts.source(src, planned, line, true);
  };

  return (await stage(opts.plan.target.stage.index)).image;
}

/** FROM scratch as BuildKit starts it: an empty file system, PATH set and WorkingDir / (on Linux). */
function dockerfileScratch(platform: Platform): ImageConfig {
  const config = scratchConfig(platform);
  return platform.os === 'linux' ? { ...config, config: { Env: [DEFAULT_PATH], WorkingDir: '/' } } : config;
}

/** A Linux base whose Env has no PATH gets the default one, as BuildKit, buildah and Docker give it. */
function withPath(config: ContainerConfig, platform: Platform): ContainerConfig {
  if (platform.os !== 'linux' || (config.Env ?? []).some((e) => e.startsWith('PATH='))) return config;
  return { ...config, Env: [DEFAULT_PATH, ...(config.Env ?? [])] };
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A Built for an image read from elsewhere: its tree indexed on first use, contents extracted into `work` when `contents`. */
export function builtFromImage(image: Image, work: string, contents: boolean): Built {
  let tree: Promise<FsTree> | undefined;
  return {
    image,
    tree: () =>
      (tree ??= (async () => {
        await mkdir(work, { recursive: true });
        return imageTree(image, contents ? work : undefined);
      })()),
  };
}
