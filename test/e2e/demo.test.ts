/**
 * README's first quick-start command ends in hack/demo.sh: per-arch tarballs, a release into
 * an OCI layout, an inspect. Run here into a temporary folder and read back with skopeo.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { run, tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-demo-'));
});
afterAll(() => cleanup());

test('the demo builds three per-arch tarballs and releases them as one index into a layout, with no network', async () => {
  const out = join(dir, 'demo');
  const printed = await run('bash', ['hack/demo.sh'], { cwd: REPO_ROOT, env: { ...process.env, BERTH_DEMO_OUT: out } });
  const raw = await run('skopeo', ['inspect', '--raw', `oci:${out}/release:hello:v0.1.0`]);
  const index = JSON.parse(raw);
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
  expect(index.manifests.map((m: { platform: { architecture: string; variant?: string } }) => [m.platform.architecture, m.platform.variant ?? ''])).toEqual([
    ['amd64', ''],
    ['arm', 'v7'],
    ['arm64', ''],
  ]);
  expect(printed).toContain(`index      ${digest}`);
  // `latest` names the same index; each child is the manifest of the per-arch tarball.
  expect(await run('skopeo', ['inspect', '--raw', `oci:${out}/release:hello:latest`])).toBe(raw);
  for (const [m, arch] of [[index.manifests[0], 'amd64'], [index.manifests[2], 'arm64']] as const) {
    const child = await run('skopeo', ['inspect', '--raw', `oci-archive:${out}/images/hello-${arch}.tar`]);
    expect(`sha256:${createHash('sha256').update(child).digest('hex')}`).toBe(m.digest);
  }
});
