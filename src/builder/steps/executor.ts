import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { withLock } from '../../util/atomic.js';
import { dockerfileError } from '../../dockerfile/dockerfile-error.js';
import { MountError, parseRunFlags, type RunMount } from '../../dockerfile/mounts.js';
import { UsageError } from '../../errors.js';
import { formatPlatform } from '../../oci/platform.js';
import type { Op } from '../../dockerfile/dispatch.js';
import { canonicalCreatedBy, RUN_MOUNT_POINTS } from '../engines/normalize.js';
import type { Built, RunStepInput, RunStepper } from '../native.js';
import { FsTree } from '../rootfs.js';
import type { StepCache, StepLayer, StepResult } from './step-cache.js';
import type { BuildahRunner, Container, HostMount } from './container.js';
import { applyMembers } from '../rootfs.js';
import { diffLayer, extractLayer, layerMembers, snapshot, writeTree } from './rootfs-dir.js';
import { readSecret, type SecretSource } from './secrets.js';

/**
 * A step cache in a registry (--cache-from / --cache-to). A key `mount-<hash>` holds a RUN
 * cache mount's contents (one layer) rather than a step.
 */
export interface RemoteStepCache {
  get(key: string, copyTo: string): Promise<(StepResult & { path?: string }) | undefined>;
  put(key: string, result: StepResult, path?: string): Promise<void>;
}

export interface StepExecutorOptions {
  cache: StepCache;
  /** RUN cache mounts live here (`run-cache/<id hash>`). */
  cacheDir: string;
  runner: BuildahRunner;
  epoch: number;
  level: number;
  secrets: ReadonlyMap<string, SecretSource>;
  env: NodeJS.ProcessEnv;
  /** The build context folder, and whether the context tree is all of it (no .dockerignore). */
  contextDir: string;
  contextWhole: boolean;
  cacheFrom?: RemoteStepCache[];
  cacheTo?: RemoteStepCache[];
  /** One line of a RUN's output or of the cache's doings. */
  log: (line: string) => void;
}

const KEY_VERSION = 'berth-step-v1';

/**
 * Runs RUN steps one by one for the native engine, each keyed as BuildKit keys it: the parent
 * (the stage's layers so far, by diffID: COPY and ADD layers are their contents), the command
 * with the ENV and ARGs in effect, workdir, user, platform, and its mounts (a bind mount by
 * the contents it shows; a cache mount by its id; a secret by its id only). A key found in
 * the step cache (local, then --cache-from) gives its stored layer without running anything;
 * else the RUN runs in a working container of its stage and its layer is the diff of the
 * container's root folder.
 */
export class StepExecutor implements RunStepper {
  private readonly stages = new WeakMap<FsTree, { container?: Container; applied: number }>();
  private readonly containers: Container[] = [];
  private readonly digests = new WeakMap<object, Map<string, Promise<string>>>();
  /** Cache mounts used by this build: name (`mount-<hash>`) → folder. */
  private readonly usedMounts = new Map<string, string>();
  /** What ran and what was reused, for the build's summary and the tests. */
  readonly counts = { ran: 0, reused: 0, remote: 0 };

  constructor(private readonly opts: StepExecutorOptions) {}

  async run(input: RunStepInput): Promise<(StepLayer & { path: string }) | undefined> {
    const { step, file } = input;
    let flags;
    try {
      flags = parseRunFlags(step.flags, step.workdir);
    } catch (e) {
      if (e instanceof MountError) throw dockerfileError(file, step.line, `RUN: ${e.message}`);
      throw e;
    }
    let fromIndex = 0;
    const mounts = flags.mounts.map((m) => ({ m, from: 'from' in m && m.from !== undefined ? input.mountFrom[fromIndex++] : undefined }));
    for (const { m } of mounts) {
      if (m.type === 'cache' && m.from !== undefined) throw dockerfileError(file, step.line, 'RUN --mount=type=cache: from= (seeding a cache from an image) is not supported by berth');
      if (m.type === 'secret' && m.env !== undefined) throw dockerfileError(file, step.line, `RUN --mount=type=secret,id=${m.id}: env= is not supported by berth; read the secret from ${m.target || `/run/secrets/${m.id}`}`);
      if (m.type === 'secret' && m.required && !this.opts.secrets.has(m.id)) throw new UsageError('BAD_FLAG', `${file}:${step.line}: RUN needs secret "${m.id}"; give it with --secret id=${m.id},src=FILE or --secret id=${m.id},env=VAR`);
    }

    const key = await this.keyOf(input, flags.network, mounts);
    await mkdir(input.work, { recursive: true });
    const layerPath = join(input.work, 'layer.tar.gz');
    const where = `${file}:${step.line}`;
    // One RUN per key at a time, across the builds of this process and other berth processes
    // sharing the cache folder: the second finds the first's result (as BuildKit dedupes).
    let result = await this.lookup(key, layerPath, where, false);
    if (result === 'miss') {
      await mkdir(join(this.opts.cache.dir, 'locks'), { recursive: true });
      result = await withLock(join(this.opts.cache.dir, 'locks', key), async () => {
        const found = await this.lookup(key, layerPath, where, true);
        if (found !== 'miss') return found;
        this.counts.ran++;
        const made = await this.execute(input, flags.network, mounts, key, layerPath);
        for (const remote of this.opts.cacheTo ?? []) await remote.put(key, made ? { digest: made.digest, diffID: made.diffID, size: made.size } : { empty: true }, made?.path);
        return made;
      });
    }
    if (result) applyMembers(input.tree, await layerMembers(result.path, `${where}: RUN layer`, join(input.work, 'members')));
    return result;
  }

  /**
   * History as the whole-Dockerfile engines give it once normalized (engines/normalize.ts): a
   * RUN its command (`/bin/sh -c ...`), a COPY or ADD its destination, so an image's digest
   * is the same whether buildah ran it step by step or Docker ran the whole Dockerfile.
   */
  historyText(op: Op): string {
    return canonicalCreatedBy(op.layer?.kind === 'run' ? op.layer.argv.join(' ') : op.createdBy);
  }

  /** The cached result of `key` (local, then --cache-from when `remote`), 'miss' when there is none. */
  private async lookup(key: string, layerPath: string, where: string, remote: boolean): Promise<(StepLayer & { path: string }) | undefined | 'miss'> {
    let hit = await this.opts.cache.get(key, layerPath);
    if (!hit && remote) {
      for (const from of this.opts.cacheFrom ?? []) {
        hit = await from.get(key, layerPath).catch((err: Error) => {
          this.opts.log(`cache: ${where}: --cache-from: ${err.message}`);
          return undefined;
        });
        if (hit) {
          this.counts.remote++;
          if (hit.empty) await this.opts.cache.putRecord(key, { empty: true });
          else await this.opts.cache.putFile(key, hit as StepLayer, hit.path!);
          break;
        }
      }
    }
    if (!hit) return 'miss';
    this.counts.reused++;
    this.opts.log(`${where}: RUN reused from the step cache`);
    return hit.empty ? undefined : { digest: hit.digest, diffID: hit.diffID, size: hit.size, path: layerPath };
  }

  /** Pushes the cache mounts this build used to --cache-to (each as one layer of its whole folder). */
  async pushMounts(work: string): Promise<void> {
    if (!this.opts.cacheTo?.length) return;
    await mkdir(work, { recursive: true });
    for (const [name, dir] of this.usedMounts) {
      const entries = await diffLayer(dir, new Map(), await snapshot(dir), this.opts.epoch, []);
      const path = join(work, `${name}.tar.gz`);
      const { buildLayer } = await import('../../blob/layer.js');
      const info = await buildLayer(entries, { outPath: path, level: this.opts.level });
      for (const remote of this.opts.cacheTo) await remote.put(name, { digest: info.digest, diffID: info.diffID, size: info.size }, path);
    }
  }

  /** Removes every working container this executor made. */
  async close(): Promise<void> {
    await Promise.all(this.containers.splice(0).map((c) => this.opts.runner.remove(c)));
  }

  private async execute(input: RunStepInput, network: 'default' | 'none' | 'host', mounts: { m: RunMount; from?: Built | FsTree | undefined }[], key: string, layerPath: string): Promise<(StepLayer & { path: string }) | undefined> {
    const { step, planned } = input;
    const where = `${input.file}:${step.line}`;
    let state = this.stages.get(input.tree);
    if (!state) this.stages.set(input.tree, (state = { applied: 0 }));
    if (!state.container) {
      state.container = await this.opts.runner.create(planned.platform, this.opts.log);
      this.containers.push(state.container);
    }
    const c = state.container;
    // Layers of the stage not yet in the container's folder (the base's, then COPY/ADD's and cached RUNs').
    for (let i = state.applied; i < input.parent.layers.length; i++) {
      const desc = input.parent.layers[i]!;
      await extractLayer(await input.parent.blobs.open(desc), c.root, `${where}: layer ${i} (${desc.digest})`, join(input.work, `spool-${i}`));
    }
    state.applied = input.parent.layers.length;

    const host: HostMount[] = [];
    const stubs = new Set<string>(RUN_MOUNT_POINTS);
    const private_ = join(input.work, 'mounts');
    await mkdir(private_, { recursive: true, mode: 0o700 });
    for (const [n, { m, from }] of mounts.entries()) {
      const target = m.target;
      if (target) for (let p = target.replace(/^\/+/, ''); p && p !== '.'; p = posix.dirname(p)) stubs.add(p);
      if (m.type === 'tmpfs') host.push({ type: 'tmpfs', target, ...(m.size ? { size: m.size } : {}) });
      else if (m.type === 'bind') host.push({ type: 'bind', source: await this.bindSource(m, from, join(private_, `bind-${n}`), input), target, readonly: !m.rw });
      else if (m.type === 'cache') host.push({ type: 'bind', source: await this.cacheMount(m, input.work), target, readonly: m.readonly });
      else {
        const src = this.opts.secrets.get(m.id);
        const value = src ? await readSecret(src, this.opts.env) : undefined;
        if (value === undefined) {
          if (m.required) throw new UsageError('BAD_FLAG', `${where}: secret "${m.id}": ${src?.kind === 'env' ? `environment variable ${src.name} is not set` : `cannot read ${src?.kind === 'file' ? src.path : 'it'}`}`);
          continue;
        }
        const path = join(private_, `secret-${n}`);
        await writeFile(path, value, { mode: 0o600 });
        await chown(path, m.uid, m.gid);
        await chmod(path, m.mode);
        host.push({ type: 'bind', source: path, target, readonly: true });
      }
    }

    const before = await snapshot(c.root);
    const env = step.env.some((e) => e.startsWith('PATH=')) ? step.env : [...step.env, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
    try {
      await this.opts.runner.run(c, { argv: step.argv, env, workdir: step.workdir, user: step.user, network, mounts: host, platform: planned.platform }, this.opts.log, `running ${where} (${planned.label}, ${formatPlatform(planned.platform)})`);
    } finally {
      await rm(private_, { recursive: true, force: true });
    }
    const after = await snapshot(c.root);
    const entries = await diffLayer(c.root, before, after, this.opts.epoch, [...stubs]);
    state.applied = input.parent.layers.length + 1;
    if (entries.length === 0) {
      await this.opts.cache.putRecord(key, { empty: true });
      return undefined;
    }
    return this.opts.cache.putEntries(key, entries, this.opts.level, layerPath);
  }

  /** The folder a bind mount shows: the context (or a folder context), a stage's or image's files. */
  private async bindSource(m: Extract<RunMount, { type: 'bind' }>, from: Built | FsTree | undefined, scratch: string, input: RunStepInput): Promise<string> {
    if (!from && this.opts.contextWhole && !m.rw) return join(this.opts.contextDir, m.source);
    const tree = from ?? (await input.context());
    if (tree instanceof FsTree) {
      await writeTree(tree, scratch, tree.resolve(m.source), `RUN --mount source`);
      return scratch;
    }
    await mkdir(scratch, { recursive: true });
    for (const [i, desc] of tree.image.manifest.layers.entries()) {
      await extractLayer(await tree.image.blobs.open(desc), scratch, `RUN --mount from= layer ${i}`, `${scratch}-spool-${i}`);
    }
    return m.source ? join(scratch, m.source) : scratch;
  }

  private async cacheMount(m: Extract<RunMount, { type: 'cache' }>, work: string): Promise<string> {
    const hash = createHash('sha256').update(m.id).digest('hex').slice(0, 32);
    const dir = join(this.opts.cacheDir, 'run-cache', hash);
    this.usedMounts.set(`mount-${hash}`, dir);
    const made = await stat(dir).catch(() => undefined);
    if (!made) {
      const tmp = `${dir}.${randomBytes(6).toString('hex')}`;
      await mkdir(tmp, { recursive: true });
      await chown(tmp, m.uid, m.gid);
      await chmod(tmp, m.mode);
      // An empty disk: the mount as another runner left it (--cache-from).
      for (const remote of this.opts.cacheFrom ?? []) {
        const layer = join(work, `mount-${hash}.tar.gz`);
        const got = await remote.get(`mount-${hash}`, layer).catch(() => undefined);
        if (!got || got.empty) continue;
        await extractLayer(createReadStream(layer), tmp, `--cache-from cache mount ${m.id}`, `${layer}-spool`);
        this.opts.log(`cache mount ${m.target}: taken from --cache-from`);
        break;
      }
      await import('node:fs/promises').then((fs) => fs.rename(tmp, dir)).catch(() => rm(tmp, { recursive: true, force: true }));
    } else {
      const now = new Date();
      await utimes(dir, now, now).catch(() => {});
    }
    return m.source ? join(dir, m.source) : dir;
  }

  private async keyOf(input: RunStepInput, network: string, mounts: { m: RunMount; from?: Built | FsTree | undefined }[]): Promise<string> {
    const { step, planned } = input;
    const mountKeys = [];
    for (const { m, from } of mounts) {
      if (m.type === 'secret') mountKeys.push({ type: m.type, id: m.id, target: m.target, required: m.required, mode: m.mode, uid: m.uid, gid: m.gid });
      else if (m.type === 'bind') mountKeys.push({ type: m.type, target: m.target, rw: m.rw, source: m.source, contents: await this.contentsOf(from ?? (await input.context()), m.source) });
      else mountKeys.push(m);
    }
    const key = {
      v: KEY_VERSION,
      parent: input.parent.diffIDs,
      platform: formatPlatform(planned.platform),
      argv: step.argv,
      env: step.env,
      workdir: step.workdir,
      user: step.user,
      network,
      mounts: mountKeys,
      epoch: this.opts.epoch,
      level: this.opts.level,
    };
    return createHash('sha256').update(JSON.stringify(key)).digest('hex');
  }

  /** A digest of what a bind mount shows: an image's layers, or a tree's paths, modes and contents. */
  private contentsOf(from: Built | FsTree, under: string): Promise<string> {
    const owner = from instanceof FsTree ? from : from.image;
    let memo = this.digests.get(owner);
    if (!memo) this.digests.set(owner, (memo = new Map()));
    let d = memo.get(under);
    if (!d) {
      memo.set(under, (d = from instanceof FsTree ? treeDigest(from, under) : Promise.resolve(`${from.image.digest} ${under}`)));
    }
    return d;
  }
}

async function treeDigest(tree: FsTree, under: string): Promise<string> {
  const h = createHash('sha256');
  const root = under ? tree.resolve(under) : '';
  for (const path of tree.under(root)) {
    const n = tree.get(path)!;
    h.update(`${path}\0${n.type}\0${n.mode}\0${n.uid}:${n.gid}\0${n.linkname ?? ''}\0`);
    if (n.type !== 'file') continue;
    if (typeof n.source === 'string') {
      for await (const chunk of createReadStream(n.source)) h.update(chunk as Buffer);
    } else if (n.source instanceof Uint8Array) h.update(n.source);
    else if (typeof n.source === 'function') for await (const chunk of await n.source()) h.update(chunk);
    h.update('\0');
  }
  return h.digest('hex');
}
