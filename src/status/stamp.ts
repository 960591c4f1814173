/**
 * Stamping names from Bazel workspace status files: `{KEY}` in a value (an image name, a tag,
 * a registry) becomes the value of KEY in the status files given, as rules_docker and
 * cert-manager's Bazel rules write them: `{STABLE_DOCKER_REGISTRY}/controller:{STABLE_DOCKER_TAG}`.
 * Only `{` + a key name + `}` is a key, so a tag template's `{{ .Version }}` is left alone.
 *
 * `berth copy|index|release --status-file bazel-out/stable-status.txt` use it; the Bazel
 * rules in build/ pass ctx.info_file (and ctx.version_file when a volatile key is named).
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { parseStatusFile } from './labels.js';

const KEY = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The status values of one or more files; a later file wins for a key both give. */
export interface StatusValues {
  values: ReadonlyMap<string, string>;
  /** The files' names, for messages. */
  files: string[];
}

/** The status keys `{KEY}` named in `text`, in order, without repeats. */
export function statusKeysIn(text: string): string[] {
  return [...new Set([...text.matchAll(KEY)].map((m) => m[1]!))];
}

/**
 * `text` with every `{KEY}` replaced by its status value. A key no file gives, or any key
 * when no file was given, is an error naming `what` (the flag) and the value.
 */
export function expandStatusKeys(text: string, status: StatusValues | undefined, what: string): string {
  const keys = statusKeysIn(text);
  if (keys.length === 0) return text;
  if (!status || status.files.length === 0) {
    throw new UsageError('BAD_STATUS_FILE', `${what} "${text}": {${keys[0]}} is a workspace status key and no --status-file gives its value (with Bazel, build with --stamp)`);
  }
  const missing = keys.find((k) => !status.values.has(k));
  if (missing !== undefined) {
    throw new UsageError('BAD_STATUS_FILE', `${what} "${text}": no status file gives ${missing} (read ${status.files.map((f) => basename(f)).join(', ')})`);
  }
  return text.replace(KEY, (_m, k: string) => status.values.get(k)!);
}

/** Reads Bazel status files (`KEY value` lines) relative to `cwd`. */
export async function readStatusFiles(files: readonly string[], cwd: string): Promise<StatusValues> {
  const values = new Map<string, string>();
  for (const file of files) {
    const text = await readFile(resolve(cwd, file), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError('UNREADABLE', `--status-file ${file}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code})`}`, { cause: err });
    });
    for (const [k, v] of parseStatusFile(text, file)) values.set(k, v);
  }
  return { values, files: [...files] };
}
