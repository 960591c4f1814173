import { join } from 'node:path';
import { berth, REPO_ROOT } from '../helpers/cli.js';

export const HELLO = join(REPO_ROOT, 'demo', 'hello', 'bin');

/** berth's static base for the platforms given (an index over several), as an image tarball; returns its digest. */
export async function staticBase(out: string, platforms: string[] = ['linux/amd64']): Promise<string> {
  const r = await berth(['base', 'static', ...platforms.flatMap((p) => ['--platform', p]), '--output', out, '--json']);
  if (r.code !== 0) throw new Error(`berth base failed: ${r.stderr}`);
  return JSON.parse(r.stdout).digest as string;
}

/** An app image on `base` (a tarball or registry reference): the hello binary as the entrypoint. */
export async function appImage(base: string, out: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<{ code: number; digest: string; stderr: string }> {
  const r = await berth(
    ['build', '--base', base, '--platform', 'linux/amd64', '--file', `${join(HELLO, 'hello-amd64')}:/app/hello:0755`, '--entrypoint', '/app/hello', '--output', out, '--json', ...extra],
    { env },
  );
  return { code: r.code, digest: r.code === 0 ? (JSON.parse(r.stdout).digest as string) : '', stderr: r.stderr };
}

/** The environment a test runs berth with: PATH, a private cache, and whatever else is given. */
export function testEnv(cacheHome: string, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: cacheHome, XDG_CACHE_HOME: join(cacheHome, 'cache'), ...more };
}
