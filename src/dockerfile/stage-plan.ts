import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { UsageError } from '../errors.js';
import { dockerfileError } from './dockerfile-error.js';
import type { CopyInstruction, Dockerfile, RunInstruction, Stage } from './instructions.js';
import { MountError, parseRunFlags } from './mounts.js';
import { LexError, processWord, type Vars } from './lex.js';

/** Where a stage starts, or where a `COPY --from` reads. */
export type Source =
  | { kind: 'scratch' }
  | { kind: 'stage'; index: number }
  /** A `--build-context NAME=...`. */
  | { kind: 'context'; name: string }
  /** An image reference, resolved by the builder (registry, or a named context of that name). */
  | { kind: 'image'; ref: string };

export interface PlannedStage {
  stage: Stage;
  /** `stage N` or its name, for messages. */
  label: string;
  base: Source;
  /** The platform the stage is built for: FROM --platform, else the target's. */
  platform: Platform;
  /** Where each `COPY --from` of the stage reads. */
  copyFrom: Map<CopyInstruction, Source>;
  /** Where each `RUN --mount=from=...` of the stage reads, in the order of its mounts that have from=. */
  mountFrom: Map<RunInstruction, Source[]>;
  /**
   * Values of the stage's ARGs that no default can change: build args and the predefined ones
   * (platform args, BUILD_COMMIT_SHA). A default is the ARG's own, taken where it stands.
   */
  argValues: Map<string, string>;
  /** Global ARG values a stage's `ARG NAME` (without default) inherits. */
  metaArgs: Map<string, string>;
  hasRun: boolean;
}

export interface PlanInput {
  dockerfile: Dockerfile;
  target?: string;
  platform: Platform;
  buildPlatform: Platform;
  /** --build-arg and --build-arg-file, the later winning. */
  buildArgs: Record<string, string>;
  /** Supplied by the caller from git; a Dockerfile reads it with `ARG BUILD_COMMIT_SHA`. */
  commitSha?: string;
  /** Names given with --build-context. */
  contextNames: ReadonlySet<string>;
}

export interface BuildPlan {
  /** The stages the target needs, each after those it depends on; the target last. */
  stages: PlannedStage[];
  target: PlannedStage;
  /** Whether a needed stage has RUN (the native engine cannot build it). */
  hasRun: boolean;
  warnings: string[];
}

/** Args Docker knows without a declaration (proxies): never warned about. */
const BUILTIN_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** TARGETPLATFORM, TARGETOS, ... and BUILD* for the target and the build host. */
export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  const out = new Map<string, string>();
  for (const [prefix, p] of [['TARGET', target], ['BUILD', build]] as const) {
    out.set(`${prefix}PLATFORM`, formatPlatform(p));
    out.set(`${prefix}OS`, p.os);
    out.set(`${prefix}ARCH`, p.architecture);
    out.set(`${prefix}VARIANT`, p.variant ?? '');
  }
  return out;
}

/**
 * Plans a build: global ARGs expanded, each FROM resolved (scratch, an earlier stage, a named
 * context, an image) for its platform, `COPY --from` resolved, then only the stages the target
 * needs, in dependency order. Refuses an unknown target and a stage cycle; warns of build args
 * no needed stage declares. Pure.
 */
export function planBuild(input: PlanInput): BuildPlan {
  const df = input.dockerfile;
  const err = (line: number, what: string) => dockerfileError(df.file, line, what);
  const expand = (word: string, vars: Vars, line: number, what: string) => {
    try {
      return processWord(word, vars, df.escape);
    } catch (e) {
      if (e instanceof LexError) throw err(line, `${what}: ${e.message}`);
      throw e;
    }
  };
  const given = new Map(Object.entries(input.buildArgs));
  const predefined = platformArgs(input.platform, input.buildPlatform);
  if (input.commitSha !== undefined && !given.has('BUILD_COMMIT_SHA')) predefined.set('BUILD_COMMIT_SHA', input.commitSha);
  const declared = new Set<string>();

  // Global ARGs: a build arg wins over the default; defaults see earlier globals.
  const metaArgs = new Map<string, string>();
  const metaScope = new Map(predefined);
  for (const arg of df.metaArgs) {
    for (const { name, default: def } of arg.args) {
      declared.add(name);
      const value = given.get(name) ?? (def !== undefined ? expand(def, metaScope, arg.line, 'ARG') : predefined.get(name));
      if (value !== undefined) {
        metaArgs.set(name, value);
        metaScope.set(name, value);
      }
    }
  }

  const byName = new Map<string, Stage>();
  for (const s of df.stages) {
    if (s.name === undefined) continue;
    if (byName.has(s.name)) throw err(s.from.line, `FROM: duplicate stage name "${s.name}"`);
    byName.set(s.name, s);
  }

  const resolveName = (raw: string, self: Stage, forFrom: boolean, line: number): Source => {
    const name = raw.toLowerCase();
    if (input.contextNames.has(raw)) return { kind: 'context', name: raw };
    const stage = byName.get(name);
    if (stage && !(forFrom && stage === self)) return { kind: 'stage', index: stage.index };
    if (!forFrom && /^\d+$/.test(raw)) {
      const index = Number(raw);
      if (index >= df.stages.length) throw err(line, `COPY: --from=${raw}: there is no stage ${raw} (the Dockerfile has ${df.stages.length})`);
      return { kind: 'stage', index };
    }
    if (name === 'scratch') {
      if (!forFrom) throw err(line, 'COPY: --from=scratch copies nothing');
      return { kind: 'scratch' };
    }
    if (raw === '') throw err(line, `${forFrom ? 'FROM' : 'COPY --from'}: names no image`);
    return { kind: 'image', ref: raw };
  };

  const planned = df.stages.map((stage): PlannedStage => {
    const from = stage.from;
    const image = expand(from.image, metaScope, from.line, 'FROM');
    const base = resolveName(image, stage, true, from.line);
    let platform = input.platform;
    if (from.platform !== undefined) {
      const text = expand(from.platform, metaScope, from.line, 'FROM --platform');
      try {
        platform = parsePlatform(text, 'FROM --platform');
      } catch (e) {
        throw err(from.line, (e as UsageError).message);
      }
    }
    const argValues = new Map<string, string>();
    // The ARGs' values in order, for what the plan expands itself (RUN flags, COPY --from).
    const values = new Map<string, string>();
    const copyFrom = new Map<CopyInstruction, Source>();
    const mountFrom = new Map<RunInstruction, Source[]>();
    let hasRun = false;
    for (const ins of stage.instructions) {
      if (ins.kind === 'RUN') {
        hasRun = true;
        const scope = new Map([...metaArgs, ...values]);
        const flags = ins.flags.map((f) => expand(f, scope, ins.line, 'RUN'));
        let parsed;
        try {
          parsed = parseRunFlags(flags, '/');
        } catch (e) {
          if (e instanceof MountError) throw err(ins.line, `RUN: ${e.message}`);
          throw e;
        }
        const froms = parsed.mounts.flatMap((m) => ('from' in m && m.from !== undefined ? [resolveName(m.from, stage, false, ins.line)] : []));
        if (froms.length) mountFrom.set(ins, froms);
      }
      if (ins.kind === 'ARG') {
        for (const { name, default: def } of ins.args) {
          const fixed = given.get(name) ?? predefined.get(name);
          if (fixed !== undefined) argValues.set(name, fixed);
          const value = fixed ?? (def !== undefined ? safeExpand(def, new Map([...metaArgs, ...values]), df.escape) : metaArgs.get(name));
          if (value !== undefined) values.set(name, value);
        }
      }
      if ((ins.kind === 'COPY' || ins.kind === 'ADD') && ins.from !== undefined) {
        if (ins.kind === 'ADD') throw err(ins.line, 'ADD: unknown flag: --from');
        const raw = expand(ins.from, new Map([...metaArgs, ...values]), ins.line, 'COPY --from');
        copyFrom.set(ins, resolveName(raw, stage, false, ins.line));
      }
    }
    const label = stage.name ? `stage "${stage.name}"` : `stage ${stage.index}`;
    return { stage, label, base, platform, copyFrom, mountFrom, argValues, metaArgs, hasRun };
  });

  let target = planned.at(-1)!;
  if (input.target !== undefined) {
    const found = byName.get(input.target.toLowerCase());
    if (!found) {
      const names = [...byName.keys()];
      throw new UsageError('BAD_FLAG', `--target ${input.target}: ${df.file} has no stage of that name (${names.length ? `stages: ${names.join(', ')}` : 'its stages have no names'})`);
    }
    target = planned[found.index]!;
  }

  // Depth-first from the target: dependencies first; a stage met again while open is a cycle.
  const order: PlannedStage[] = [];
  const state = new Map<number, 'open' | 'done'>();
  const visit = (p: PlannedStage, line: number): void => {
    const s = state.get(p.stage.index);
    if (s === 'done') return;
    if (s === 'open') throw err(line, `circular dependency detected on ${p.label}`);
    state.set(p.stage.index, 'open');
    if (p.base.kind === 'stage') visit(planned[p.base.index]!, p.stage.from.line);
    for (const [ins, src] of p.copyFrom) if (src.kind === 'stage') visit(planned[src.index]!, ins.line);
    for (const [ins, srcs] of p.mountFrom) for (const src of srcs) if (src.kind === 'stage') visit(planned[src.index]!, ins.line);
    state.set(p.stage.index, 'done');
    order.push(p);
  };
  visit(target, target.stage.from.line);

  for (const p of order) for (const ins of p.stage.instructions) if (ins.kind === 'ARG') for (const a of ins.args) declared.add(a.name);
  const unused = [...given.keys()].filter((k) => !declared.has(k) && !BUILTIN_ARGS.includes(k)).sort();
  const warnings = unused.length ? [`build-args were given but not consumed (no ARG declares them): ${unused.join(', ')}`] : [];
  return { stages: order, target, hasRun: order.some((p) => p.hasRun), warnings };
}

/** A default that cannot be expanded yet stays as written; the dispatcher reports it on its line. */
function safeExpand(word: string, vars: Vars, escape: string): string | undefined {
  try {
    return processWord(word, vars, escape);
  } catch {
    return undefined;
  }
}
