/**
 * What to release, from `release.yaml` or from flags: components, each with a source per
 * platform; the registries every component goes to; the tag specs; the format. Nothing is
 * read here but the file and the globs: sources are read by ./resolve.ts.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { checkRegistry, checkTagSpec, boolean, configError, list, oneOf, record, section, string } from '../config/index.js';
import { parseWith } from '../config/yaml-tree.js';
import { OperationalError, UsageError } from '../errors.js';
import { FORMATS, type Format } from '../oci/mediatype.js';
import { parsePlatform, type Platform } from '../oci/platform.js';

/** One platform's source: a tarball, `oci:DIR[:NAME]` or a registry reference. */
export interface SourceSpec {
  /** The platform it is listed under; from flags, undefined (read from the image's config). */
  platform?: Platform;
  source: string;
  /** Names the entry in errors: `release.yaml:7: components.x.platforms.linux/amd64` or `--component x`. */
  where: string;
}

export interface ComponentSpec {
  name: string;
  where: string;
  sources: SourceSpec[];
}

export interface ReleaseSpec {
  registries: string[];
  /** Tag specs (templates allowed), as berth.yaml's `tags`. */
  tags: string[];
  archSuffixedRepos: boolean;
  format?: Format;
  components: ComponentSpec[];
}

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function checkComponentName(name: string): string | undefined {
  return COMPONENT_RE.test(name) ? undefined : `"${name}" is not a repository name (lowercase letters, digits and . _ - separators)`;
}

function checkPlatformKey(key: string): string | undefined {
  try {
    parsePlatform(key, 'platform');
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^platform: /, '');
  }
}

export const releaseYamlSchema = section({
  registries: list(string({ check: checkRegistry })),
  tags: list(string({ check: checkTagSpec, coerce: true })),
  'arch-suffixed-repos': boolean(),
  format: oneOf(FORMATS),
  components: record(section({ platforms: record(string({ check: (s) => (s === '' ? 'the source is empty' : undefined) }), { key: checkPlatformKey, keyType: 'platforms' }) }), {
    key: checkComponentName,
    keyType: 'component names',
  }),
});

/** Parses the text of a release.yaml (`display` names it in errors). */
export async function parseReleaseYaml(text: string, display: string): Promise<ReleaseSpec> {
  const doc = await parseWith(text, display, releaseYamlSchema);
  const components: ComponentSpec[] = (doc.components ?? []).map((c) => {
    const platforms = c.value.platforms ?? [];
    if (platforms.length === 0) throw configError({ file: display, path: `components.${c.key}.platforms` }, c.line, 'names no platform; list os/arch[/variant]: SOURCE entries');
    return {
      name: c.key,
      where: `${display}:${c.line}: components.${c.key}`,
      sources: platforms.map((p) => ({ platform: parsePlatform(p.key), source: p.value, where: `${display}:${p.line}: components.${c.key}.platforms.${p.key}` })),
    };
  });
  if (components.length === 0) throw configError({ file: display, path: 'components' }, 1, 'names no component to release');
  return {
    registries: doc.registries ?? [],
    tags: doc.tags ?? [],
    archSuffixedRepos: doc['arch-suffixed-repos'] ?? false,
    ...(doc.format ? { format: doc.format } : {}),
    components,
  };
}

/** No release.yaml: what flags start from. */
export const EMPTY_SPEC: ReleaseSpec = { registries: [], tags: [], archSuffixedRepos: false, components: [] };

/**
 * A spec with the flags applied: `--registry` and `--tag` replace the file's lists when given,
 * and a `--component` replaces the file's component of the same name.
 */
export function withOverrides(base: ReleaseSpec, flags: { registries: string[]; tags: string[]; archSuffixedRepos?: boolean; components: ComponentSpec[] }): ReleaseSpec {
  return {
    ...base,
    registries: flags.registries.length ? flags.registries : base.registries,
    tags: flags.tags.length ? flags.tags : base.tags,
    archSuffixedRepos: flags.archSuffixedRepos ?? base.archSuffixedRepos,
    components: [...base.components.filter((c) => !flags.components.some((f) => f.name === c.name)), ...flags.components],
  };
}

/** Reads `file` (relative to `cwd`). */
export async function loadReleaseConfig(file: string, cwd: string): Promise<ReleaseSpec> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('UNREADABLE', `--config: ${file}: no such file`);
    throw new OperationalError('UNREADABLE', `--config: ${file}: cannot read it (${code})`, { cause: err });
  }
  return parseReleaseYaml(text, file);
}

/** `--component NAME=GLOB`: each tarball's platform is read from its own config later. */
export async function componentsFromFlags(values: readonly string[], cwd: string): Promise<ComponentSpec[]> {
  const out: ComponentSpec[] = [];
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError('BAD_FLAG', `--component: "${v}" is not NAME=GLOB`);
    const name = v.slice(0, eq);
    const pattern = v.slice(eq + 1);
    const why = checkComponentName(name);
    if (why) throw new UsageError('BAD_FLAG', `--component: ${why}`);
    const where = `--component ${name}`;
    const files = pattern.startsWith('oci:') || pattern.startsWith('docker://') ? [pattern] : await expandGlob(pattern, cwd);
    if (files.length === 0) throw new UsageError('UNREADABLE', `${where}: "${pattern}" matches no file`);
    let c = out.find((x) => x.name === name);
    if (!c) out.push((c = { name, where, sources: [] }));
    for (const f of files) c.sources.push({ source: f, where: `${where} (${f})` });
  }
  return out;
}

function globToRegExp(segment: string): RegExp {
  let re = '';
  for (const ch of segment) re += ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`);
}

/** Files matching a pattern with `*` and `?` in any path segment (no `**`), sorted. */
export async function expandGlob(pattern: string, cwd: string): Promise<string[]> {
  if (!/[*?]/.test(pattern)) return [pattern];
  const abs = isAbsolute(pattern);
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let bases = [abs ? '/' : ''];
  if (abs) segments.shift();
  for (const seg of segments) {
    const next: string[] = [];
    for (const b of bases) {
      if (!/[*?]/.test(seg)) {
        next.push(b === '' ? seg : join(b, seg));
        continue;
      }
      const re = globToRegExp(seg);
      const entries = await readdir(resolve(cwd, b === '' ? '.' : b)).catch(() => [] as string[]);
      for (const e of entries.sort()) if (re.test(e) && !e.startsWith('.')) next.push(b === '' ? e : join(b, e));
    }
    bases = next;
  }
  return bases.sort().filter((p) => basename(p) !== '' && dirname(p) !== undefined);
}
