import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/manifest.js';
import type { Platform } from '../oci/platform.js';

/** What `berth build` changes in the base's config. Unset fields inherit the base's. */
export interface ConfigChanges {
  platform: Platform;
  /** Seconds since the epoch, for `created` and history. */
  created: number;
  /** Replaces the base's container config whole (a Dockerfile's stage computes it), before the changes below. */
  containerConfig?: ContainerConfig;
  author?: string;
  /**
   * The history entries added, in order, in place of one per new layer: entries with
   * `empty_layer` record instructions that made no layer (ENV, CMD, ...).
   */
  history?: HistoryEntry[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  workdir?: string;
  exposedPorts?: string[];
  stopSignal?: string;
}

/** RFC 3339 in UTC with whole seconds, as Go writes it (`1970-01-01T00:00:00Z`). */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Applies `changes` and new layers to a base config, returning a new config; the base is not
 * touched. Environment variables replace same-named ones in place and new ones are appended
 * in name order, so the result does not depend on the order of flags. Setting an entrypoint
 * drops the base's Cmd unless a Cmd is given, as a Dockerfile's ENTRYPOINT does.
 */
export function applyConfigChanges(
  base: ImageConfig,
  changes: ConfigChanges,
  newLayers: { diffID: string; history: HistoryEntry }[],
): ImageConfig {
  const created = rfc3339(changes.created);
  const cc: ContainerConfig = { ...(changes.containerConfig ?? base.config ?? {}) };
  if (changes.env && Object.keys(changes.env).length) cc.Env = mergeEnv(cc.Env ?? [], changes.env);
  if (changes.labels && Object.keys(changes.labels).length) cc.Labels = sortKeys({ ...(cc.Labels ?? {}), ...changes.labels });
  if (changes.entrypoint) {
    cc.Entrypoint = changes.entrypoint;
    if (!changes.cmd) delete cc.Cmd;
  }
  if (changes.cmd) cc.Cmd = changes.cmd;
  if (changes.user !== undefined) cc.User = changes.user;
  if (changes.workdir !== undefined) cc.WorkingDir = changes.workdir;
  if (changes.stopSignal !== undefined) cc.StopSignal = changes.stopSignal;
  if (changes.exposedPorts?.length) {
    const ports = { ...(cc.ExposedPorts ?? {}) };
    for (const p of changes.exposedPorts) ports[p.includes('/') ? p : `${p}/tcp`] = {};
    cc.ExposedPorts = sortKeys(ports);
  }

  const { variant: _baseVariant, ...rest } = base;
  const out: ImageConfig = {
    ...rest,
    created,
    ...(changes.author !== undefined ? { author: changes.author } : {}),
    architecture: changes.platform.architecture,
    os: changes.platform.os,
    ...(changes.platform.variant ? { variant: changes.platform.variant } : {}),
    config: cc,
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, ...newLayers.map((l) => l.diffID)] },
    history: [...(base.history ?? []), ...(changes.history ?? newLayers.map((l) => l.history)).map((h) => ({ created, ...h }))],
  };
  return out;
}

function mergeEnv(base: string[], changes: Record<string, string>): string[] {
  const out = [...base];
  const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  for (const key of Object.keys(changes).sort()) {
    const entry = `${key}=${changes[key]}`;
    const at = out.findIndex((e) => keyOf(e) === key);
    if (at >= 0) out[at] = entry;
    else out.push(entry);
  }
  return out;
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

/** The config of an empty image (`scratch`) for a platform. */
export function scratchConfig(platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}
