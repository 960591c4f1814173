/**
 * Semver expansion for release tags: v1.2.3 gives v1.2.3, v1.2, v1 and latest, each alias
 * only while no higher stable release among the repository's tags would own it (a patch
 * release of an old line does not move `v1` or `latest`). A pre-release or a version with
 * build metadata gets only itself. Like docker/metadata-action, no `v0` alias is made.
 */
// The two functions alone: semver's index builds every range class and its regexps as it loads,
// about 10 ms of every berth start (the CLI bundle loads all its modules), tags or not.
import type { SemVer } from 'semver';
import gt from 'semver/functions/gt.js';
import parse from 'semver/functions/parse.js';
import { UsageError } from '../errors.js';
import { tagFromVersion } from '../status/version-rules.js';

export interface Tag {
  name: string;
  value: string;
}

export function expandSemver(version: string, repoTags: readonly string[]): Tag[] {
  const v = parse(version);
  if (v === null) throw new UsageError('BAD_TAG', `--semver: "${version}" is not a semantic version (want v1.2.3 or v1.3.0-rc.1)`);
  if (v.prerelease.length > 0 || v.build.length > 0) return [{ name: 'semver', value: tagFromVersion(version) }];
  const prefix = version.startsWith('v') ? 'v' : '';
  const stable = repoTags.map((t) => parse(t)).filter((t): t is SemVer => t !== null && t.prerelease.length === 0);
  const higher = (same: (t: SemVer) => boolean) => stable.some((t) => same(t) && gt(t, v));
  const tags: Tag[] = [{ name: 'semver', value: `${prefix}${v.major}.${v.minor}.${v.patch}` }];
  if (!higher((t) => t.major === v.major && t.minor === v.minor)) tags.push({ name: 'semver-minor', value: `${prefix}${v.major}.${v.minor}` });
  if (v.major > 0 && !higher((t) => t.major === v.major)) tags.push({ name: 'semver-major', value: `${prefix}${v.major}` });
  if (!higher(() => true)) tags.push({ name: 'latest', value: 'latest' });
  return tags;
}
