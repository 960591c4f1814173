/**
 * README's promise that `docker load` and `podman load` read berth's image tarballs, held by
 * the real engines: each loads a single-platform tarball (OCI and Docker media types) and
 * must show the config digest as the image ID, the names given to `--tag` as RepoTags (and,
 * for podman, berth's manifest digest), then run the static hello binary from demo/.
 * Skipped with a message only when an engine's binary is missing; CI installs them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { berth, REPO_ROOT } from '../helpers/cli.js';
import { engineMissing, podmanStore, startDockerd, type Dockerd, type Podman } from '../helpers/engines.js';
import { run, tempDir } from '../helpers/tools.js';

const HELLO = join(REPO_ROOT, 'demo', 'hello', 'bin', 'hello-amd64');
const GREETING = 'hello from berth on linux/amd64\n';

const podmanMissing = await engineMissing('podman', 'runc');
const dockerMissing = await engineMissing('dockerd', 'docker');
if (podmanMissing) console.warn(`test/folders/load-local.test.ts: podman tests skipped, ${podmanMissing} is not installed (.ci/run installs it)`);
if (dockerMissing) console.warn(`test/folders/load-local.test.ts: docker tests skipped, ${dockerMissing} is not installed (.ci/run installs docker.io)`);

interface Built {
  file: string;
  tags: string[];
  /** berth's manifest digest. */
  digest: string;
  /** The config blob's digest: the image ID docker and podman show. */
  configDigest: string;
}

let dir: string;
let cleanup: () => Promise<void>;
/** Single-platform tarballs: one name per media-type family, and two names on one image. */
const CASES = {
  oci: { format: 'oci', tags: ['example.com/demo/hello:v1'] },
  docker: { format: 'docker', tags: ['registry.test:5000/team/hello-docker:v2'] },
  'two names': { format: 'oci', tags: ['example.com/demo/named:v3', 'example.com/demo/named:latest'] },
} as const;
type Case = keyof typeof CASES;
const built = {} as Record<Case, Built>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-load-'));
  for (const [name, { format, tags }] of Object.entries(CASES) as [Case, (typeof CASES)[Case]][]) {
    const file = join(dir, `${name.replace(' ', '-')}.tar`);
    // A config of its own per case (the env), so no image ID is shared between cases.
    const r = await berth(['build', '--base', 'static', '--platform', 'linux/amd64', '--format', format, '--file', `${HELLO}:/hello:0755`, '--entrypoint', '/hello', '--env', `CASE=${name}`, ...tags.flatMap((t) => ['--tag', t]), '--output', file, '--json']);
    expect(r.code).toBe(0);
    const manifestJson = JSON.parse(await run('tar', ['-xOf', file, 'manifest.json'])) as { Config: string }[];
    built[name] = { file, tags: [...tags], digest: JSON.parse(r.stdout).digest, configDigest: `sha256:${manifestJson[0]!.Config.split('/').pop()}` };
  }
});
afterAll(async () => cleanup());

(podmanMissing ? describe.skip : describe)('podman load', () => {
  // A store per test, so one load cannot stand in for another.
  let store: Podman | undefined;
  afterEach(async () => {
    await store?.remove();
    store = undefined;
  });

  test.each(Object.keys(CASES) as Case[])('%s: ID, digest and tags as berth wrote them, and it runs', async (name) => {
    store = await podmanStore();
    const b = built[name];
    const out = await store.podman(['load', '--quiet', '--input', b.file]);
    for (const t of b.tags) expect(out).toContain(`Loaded image: ${t}`);
    const [info] = JSON.parse(await store.podman(['image', 'inspect', b.tags[0]!])) as { Id: string; Digest: string; RepoTags: string[]; Architecture: string }[];
    expect(`sha256:${info!.Id}`).toBe(b.configDigest);
    // With one name podman reads the OCI layout and keeps berth's manifest; with several it
    // reads manifest.json (Docker's archive) and writes a manifest of its own.
    if (b.tags.length === 1) expect(info!.Digest).toBe(b.digest);
    expect([...info!.RepoTags].sort()).toEqual([...b.tags].sort());
    expect(info!.Architecture).toBe('amd64');
    expect(await store.runImage(b.tags[0]!)).toBe(GREETING);
  });
});

(dockerMissing ? describe.skip : describe)('docker load', () => {
  let daemon: Dockerd;
  beforeAll(async () => {
    daemon = await startDockerd();
  }, 180_000);
  afterAll(async () => daemon?.stop(), 60_000);

  test.each(Object.keys(CASES) as Case[])('%s: ID and tags as berth wrote them, and it runs', async (name) => {
    const b = built[name];
    const out = await daemon.docker(['load', '--input', b.file]);
    for (const t of b.tags) expect(out).toContain(`Loaded image: ${t}`);
    const [info] = JSON.parse(await daemon.docker(['image', 'inspect', b.tags[0]!])) as { Id: string; RepoTags: string[]; Architecture: string; Config: { Entrypoint: string[] } }[];
    expect(info!.Id).toBe(b.configDigest);
    expect([...info!.RepoTags].sort()).toEqual([...b.tags].sort());
    expect(info!.Architecture).toBe('amd64');
    expect(info!.Config.Entrypoint).toEqual(['/hello']);
    expect(await daemon.docker(['run', '--rm', '--network', 'none', b.tags[0]!])).toBe(GREETING);
  });
});
