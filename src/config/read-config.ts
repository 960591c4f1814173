/**
 * Finds and reads `berth.yaml`. A missing file is an empty config; a broken one is a
 * UsageError (exit 2) naming the file, the line and the key.
 *
 * The YAML parser is loaded only when the file has to be parsed: with `cacheDir`, the
 * validated config is kept as JSON beside the status cache and reused while the file's text,
 * the schema and the berth build are unchanged (see docs/status.md).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationalError } from '../errors.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { parseWith } from './yaml-tree.js';
import { berthYamlSchema, type BerthConfig } from './sections.js';

export const CONFIG_FILE = 'berth.yaml';

export interface LoadConfigOptions {
  /** The name errors show for the file; defaults to `file`. */
  display?: string;
  /** A folder where the parsed config may be cached (the lean status path passes one). */
  cacheDir?: string;
  /** Identifies the running berth build; a cached config from another build is not used. */
  buildId?: string;
}

const CACHE_FORMAT = 1;

interface CachedConfig {
  format: number;
  schema: string;
  build: string;
  display: string;
  text: string;
  config: BerthConfig;
}

/** Reads `file`; an absent file gives `{}`. */
export async function loadConfig(file: string, opts: LoadConfigOptions = {}): Promise<BerthConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new OperationalError('UNREADABLE', `${opts.display ?? file}: cannot read it: ${(err as Error).message}`, { cause: err });
  }
  const display = opts.display ?? file;
  if (opts.cacheDir === undefined) return parseConfig(text, display);

  const cacheFile = join(opts.cacheDir, 'config.json');
  const want = { format: CACHE_FORMAT, schema: berthYamlSchema.shape, build: opts.buildId ?? '', display, text };
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as CachedConfig;
    if (cached.format === want.format && cached.schema === want.schema && cached.build === want.build && cached.display === want.display && cached.text === want.text) {
      return cached.config;
    }
  } catch {
    // no cache, or an unreadable one: parse
  }
  const config = await parseConfig(text, display);
  try {
    mkdirSync(opts.cacheDir, { recursive: true });
    writeFileAtomicSync(cacheFile, JSON.stringify({ ...want, config } satisfies CachedConfig));
  } catch {
    // a cache that cannot be written only costs time (writeFileAtomicSync leaves no half-written one)
  }
  return config;
}

/** Parses and validates the text of a berth.yaml (`display` names it in errors). */
export async function parseConfig(text: string, display: string): Promise<BerthConfig> {
  return parseWith(text, display, berthYamlSchema);
}
