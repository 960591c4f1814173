/**
 * The version rules of Kubernetes' hack/lib/version.sh and cert-manager's
 * hack/build/version.sh, as pure functions, so a project moving from those scripts gets the
 * same values.
 */

/**
 * `git describe --tags --match='v*' --abbrev=14` output rewritten to semver, exactly as the
 * scripts' sed lines do: with three dashes, `-<n>-g<14 hex>` at the end becomes `.<n>+<hex>`
 * (v1.3.0-alpha.0-6-g… → v1.3.0-alpha.0.6+…); with two, `-g<14 hex>` becomes `+<hex>`
 * (v1.2.3-4-g… → v1.2.3-4+…); anything else is kept. A dirty tree appends `-dirty`.
 */
export function semverFromDescribe(describe: string, dirty: boolean): string {
  let v = describe;
  const dashes = v.replace(/[^-]/g, '');
  if (dashes === '---') v = v.replace(/-([0-9]{1,})-g([0-9a-f]{14})$/, '.$1+$2');
  else if (dashes === '--') v = v.replace(/-g([0-9a-f]{14})$/, '+$1');
  return dirty ? `${v}-dirty` : v;
}

/** The version of a repository with no `v*` tag behind HEAD: `v0.0.0-<commits>+<14 hex>`. */
export function versionWithoutTag(commitCount: number, commit: string, dirty: boolean): string {
  const v = `v0.0.0-${commitCount}+${commit.slice(0, 14)}`;
  return dirty ? `${v}-dirty` : v;
}

/** Does `version` have the shape the scripts accept (`vX.Y[.Z][-pre][+build]`)? */
export function isScriptSemver(version: string): boolean {
  return /^v([0-9]+)\.([0-9]+)(\.[0-9]+)?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version);
}

/**
 * Kubernetes' gitMajor and gitMinor: the numbers of `vX.Y…`, with `+` after the minor when
 * anything follows the patch (v1.2.3 → 1, 2; v1.2.3-4+abc → 1, 2+). Empty when the version
 * does not start `vX.Y`.
 */
export function majorMinor(version: string): { major: string; minor: string } {
  const m = /^v([0-9]+)\.([0-9]+)(\.[0-9]+)?([-].*)?([+].*)?$/.exec(version);
  if (!m) return { major: '', minor: '' };
  return { major: m[1]!, minor: m[4] !== undefined ? `${m[2]}+` : m[2]! };
}

/** A version as an image tag: a tag cannot hold `+`, so each becomes `-`. */
export function tagFromVersion(version: string): string {
  return version.replaceAll('+', '-');
}

/** The version git gives: the rewritten `git describe`, or v0.0.0-<count>+<hex> without a tag. */
export function versionFromGit(f: { commit: string; dirty: boolean; describe?: string; commitCount?: number }): string {
  return f.describe !== undefined ? semverFromDescribe(f.describe, f.dirty) : versionWithoutTag(f.commitCount ?? 0, f.commit, f.dirty);
}
