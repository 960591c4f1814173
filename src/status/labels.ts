/**
 * OCI labels and annotations from the same facts the status holds, as docker/metadata-action
 * sets them: `org.opencontainers.image.version`, `.revision`, `.created` and `.source`.
 * `berth build --labels-from-status FILE` reads a Bazel status file with parseStatusFile and
 * applies labelsFromStatus; `berth tags --labels` prints ociLabels.
 */
import { UsageError } from '../errors.js';

export interface LabelFacts {
  version?: string;
  revision?: string;
  /** Commit time, seconds since the epoch. */
  created?: number;
  source?: string;
}

export const LABEL_VERSION = 'org.opencontainers.image.version';
export const LABEL_REVISION = 'org.opencontainers.image.revision';
export const LABEL_CREATED = 'org.opencontainers.image.created';
export const LABEL_SOURCE = 'org.opencontainers.image.source';

/** The labels (also the annotations) for these facts; unknown facts are left out. */
export function ociLabels(f: LabelFacts): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.version) out[LABEL_VERSION] = f.version;
  if (f.revision && f.revision !== 'unknown') out[LABEL_REVISION] = f.revision;
  if (f.created !== undefined) out[LABEL_CREATED] = new Date(f.created * 1000).toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
  if (f.source) out[LABEL_SOURCE] = f.source;
  return out;
}

/**
 * A Bazel status file (stable-status.txt, volatile-status.txt, or the output of
 * `berth status`) as a map: one `KEY value` per line, the value being everything after the
 * first space (possibly empty). Blank lines are skipped; a line whose key holds anything but
 * letters, digits and `_` is an error naming the line.
 */
export function parseStatusFile(text: string, file = 'status file'): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line : line.slice(0, sp);
    const value = sp < 0 ? '' : line.slice(sp + 1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError('BAD_STATUS_FILE', `${file}:${i + 1}: "${line.slice(0, 60)}" is not a KEY value line`);
    }
    out.set(key, value);
  }
  return out;
}

/** The labels a release image carries, from the values of a status file. */
export function labelsFromStatus(values: ReadonlyMap<string, string>): Record<string, string> {
  const ts = values.get('STABLE_BUILD_SCM_TIMESTAMP');
  const created = ts !== undefined && /^[0-9]+$/.test(ts) ? Number.parseInt(ts, 10) : undefined;
  const facts: LabelFacts = {};
  const version = values.get('STABLE_RELEASE_VERSION') ?? values.get('STABLE_BUILD_SCM_REVISION');
  if (version) facts.version = version;
  const revision = values.get('STABLE_BUILD_GIT_COMMIT');
  if (revision) facts.revision = revision;
  if (created !== undefined) facts.created = created;
  const source = values.get('STABLE_BUILD_SCM_SOURCE');
  if (source) facts.source = source;
  return ociLabels(facts);
}
