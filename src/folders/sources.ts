/**
 * Where each platform of an image folder comes from: a `Dockerfile.<arch>` or an
 * `ImageSource.<arch>` for that architecture, else the folder's general `Dockerfile` or
 * `ImageSource`. The most specific wins; when one folder holds both kinds at the same
 * level, that is ambiguous and refused. Pure: it reads file names, not files.
 */
import { UsageError } from '../errors.js';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../oci/platform.js';

export type SourceKind = 'dockerfile' | 'image-source';

export interface SourceFile {
  kind: SourceKind;
  /** The file's name in the image's folder (`Dockerfile.arm64`). */
  file: string;
  /** The platform the name is for; undefined for the general `Dockerfile` / `ImageSource`. */
  platform?: Platform;
}

const BASES: Record<string, SourceKind> = { Dockerfile: 'dockerfile', ImageSource: 'image-source' };

/**
 * The architecture a suffix names, in either spelling (`amd64`/`x86_64`, `arm64`/`aarch64`,
 * `arm` = `arm/v7`, and `arm.v6` or `arm-v6` for a variant). Linux is implied.
 */
export function suffixPlatform(suffix: string, where: string): Platform {
  const [arch, variant] = suffix.split(/[.-](?=v[0-9])/);
  const p = parsePlatform(variant ? `linux/${arch}/${variant}` : `linux/${arch}`, where);
  return p.architecture === 'arm' && !p.variant ? { ...p, variant: 'v7' } : p;
}

/** The source files among a folder's top-level names; other names are ordinary context files. */
export function sourceFiles(image: string, names: readonly string[]): SourceFile[] {
  const out: SourceFile[] = [];
  for (const name of [...names].sort()) {
    const dot = name.indexOf('.');
    const base = dot < 0 ? name : name.slice(0, dot);
    const kind = BASES[base];
    if (!kind) continue;
    if (dot < 0) {
      out.push({ kind, file: name });
      continue;
    }
    const suffix = name.slice(dot + 1);
    // Dockerfile.dockerignore, Dockerfile.arm64.dockerignore: a Dockerfile's ignore file, not a platform.
    if (suffix === 'dockerignore' || suffix.endsWith('.dockerignore')) continue;
    out.push({ kind, file: name, platform: suffixPlatform(suffix, `${image}/${name}`) });
  }
  return out;
}

/** Two sources for one level (a general Dockerfile and ImageSource, or both for one architecture): bad input, found before any request. */
export function checkAmbiguity(image: string, sources: readonly SourceFile[]): void {
  const levels = new Map<string, SourceFile[]>();
  for (const s of sources) {
    const key = s.platform ? formatPlatform(s.platform) : '';
    levels.set(key, [...(levels.get(key) ?? []), s]);
  }
  for (const [key, level] of levels) {
    if (level.length > 1) throw new UsageError('BAD_IMAGE_FOLDER', `${image}: both ${level.map((s) => s.file).join(' and ')} apply to ${key || 'every platform'}; keep one`);
  }
}

/** The source for one platform, or a UsageError naming the image, the platform and what the folder has. */
export function sourceFor(image: string, sources: readonly SourceFile[], platform: Platform): SourceFile {
  const specific = sources.filter((s) => s.platform && platformMatches(platform, s.platform));
  const general = sources.filter((s) => !s.platform);
  for (const level of [specific, general]) {
    if (level.length === 1) return level[0]!;
    if (level.length > 1) {
      throw new UsageError('BAD_IMAGE_FOLDER', `${image}: both ${level.map((s) => s.file).join(' and ')} apply to ${formatPlatform(platform)}; keep one`);
    }
  }
  const have = sources.length ? `it has ${sources.map((s) => s.file).join(', ')}` : 'it has no Dockerfile or ImageSource';
  throw new UsageError('BAD_IMAGE_FOLDER', `${image}: nothing builds ${formatPlatform(platform)}: add Dockerfile.${platform.architecture} or ImageSource.${platform.architecture}, or a general Dockerfile (${have})`);
}

/** The platforms a folder names explicitly (its `.<arch>` files), sorted; used when none are asked for. */
export function namedPlatforms(sources: readonly SourceFile[]): Platform[] {
  const seen = new Map<string, Platform>();
  for (const s of sources) if (s.platform) seen.set(formatPlatform(s.platform), s.platform);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
}
