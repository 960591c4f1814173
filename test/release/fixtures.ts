import { join } from 'node:path';
import { berth, REPO_ROOT } from '../helpers/cli.js';

export const HELLO = join(REPO_ROOT, 'demo', 'hello', 'bin');

/** The four platforms the release tests publish, with the hello binary for each and the tarball suffix. */
export const PLATFORMS: { platform: string; bin: string; arch: string }[] = [
  { platform: 'linux/amd64', bin: 'hello-amd64', arch: 'amd64' },
  { platform: 'linux/arm64', bin: 'hello-arm64', arch: 'arm64' },
  { platform: 'linux/arm/v7', bin: 'hello-arm-v7', arch: 'arm' },
  { platform: 'linux/ppc64le', bin: 'hello-ppc64le', arch: 'ppc64le' },
];

/**
 * A per-arch image tarball for a component: the static base, the hello binary as /hello and a
 * label naming the component (so components differ). Returns the path.
 */
export async function archTarball(dir: string, component: string, p: { platform: string; bin: string; arch: string }, extra: string[] = []): Promise<string> {
  const out = join(dir, `${component}-${p.arch}.tar`);
  const r = await berth(['build', '--base', 'static', '--platform', p.platform, '--file', `${join(HELLO, p.bin)}:/hello`, '--entrypoint', '/hello', '--label', `component=${component}`, '--output', out, ...extra]);
  if (r.code !== 0) throw new Error(`berth build failed: ${r.stderr}`);
  return out;
}

/** Every platform's tarball of each component, built concurrently. */
export async function componentTarballs(dir: string, components: string[], extra: string[] = []): Promise<Record<string, Record<string, string>>> {
  const built = await Promise.all(components.map((c) => Promise.all(PLATFORMS.map((p) => archTarball(dir, c, p, extra)))));
  return Object.fromEntries(components.map((c, i) => [c, Object.fromEntries(PLATFORMS.map((p, j) => [p.platform, built[i]![j]!]))]));
}

/** A release.yaml for the components' tarballs. */
export function releaseYaml(tarballs: Record<string, Record<string, string>>, head: string[]): string {
  const lines = [...head, 'components:'];
  for (const [c, ps] of Object.entries(tarballs)) {
    lines.push(`  ${c}:`, '    platforms:');
    for (const [p, path] of Object.entries(ps)) lines.push(`      ${p}: ${path}`);
  }
  return `${lines.join('\n')}\n`;
}
