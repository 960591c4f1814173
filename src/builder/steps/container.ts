import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { OperationalError } from '../../errors.js';
import { formatPlatform, type Platform } from '../../oci/platform.js';
import { runTool } from '../engines/run-tool.js';

/**
 * Where the step executor's working containers live: `$BERTH_BUILDAH_STORAGE` if set, else
 * `$XDG_CACHE_HOME/berth/buildah`, else `~/.cache/berth/buildah`; never the system's
 * /var/lib/containers. Shared by builds at once: each container has a name of its own and
 * no image is ever stored there.
 */
export function buildahStorage(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_BUILDAH_STORAGE) return resolve(env.BERTH_BUILDAH_STORAGE);
  const cache = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(cache, 'berth', 'buildah');
}

/**
 * One working container per stage, in buildah's storage (vfs, chroot isolation): made `FROM
 * scratch` under a name no other call uses, its root folder filled and diffed by berth
 * (steps/rootfs-dir.ts), each RUN run in it with `buildah run`. Nothing is committed: berth
 * makes the layer. Parallel-safe by construction: no image name is shared, and
 * containers/storage locks its own bookkeeping.
 */
export interface Container {
  name: string;
  /** Its root folder on disk. */
  root: string;
}

export interface BuildahRunner {
  create(platform: Platform, log: (line: string) => void): Promise<Container>;
  run(c: Container, spec: RunSpec, log: (line: string) => void, doing: string): Promise<void>;
  remove(c: Container): Promise<void>;
}

/** A `--mount` as buildah run takes it. */
export type HostMount = { type: 'bind'; source: string; target: string; readonly: boolean } | { type: 'tmpfs'; target: string; size?: number };

export interface RunSpec {
  argv: string[];
  env: string[];
  workdir: string;
  user: string;
  network: 'default' | 'none' | 'host';
  mounts: HostMount[];
  platform: Platform;
}

/** This process's PID namespace (its inode number), so a sweep judges only pids it can see. */
const PID_NS = (() => {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
})();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function buildahRunner(opts: { bin?: string; storage?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): BuildahRunner {
  const bin = opts.bin ?? 'buildah';
  // berth never pulls through buildah here (containers are FROM scratch): a DOCKER_CONFIG or
  // REGISTRY_AUTH_FILE naming a missing file must not fail `buildah from` (it checks them).
  const { DOCKER_CONFIG: _d, REGISTRY_AUTH_FILE: _r, ...env } = opts.env ?? process.env;
  const storage = opts.storage ?? buildahStorage(opts.env ?? process.env);
  const global = ['--storage-driver', 'vfs', '--root', join(storage, 'root'), '--runroot', join(storage, 'run')];
  const tool = async (args: string[], log: (line: string) => void, doing: string): Promise<string[]> => {
    const lines: string[] = [];
    await runTool({ engine: 'buildah', cmd: bin, args: [...global, ...args], env, doing, ...(opts.signal ? { signal: opts.signal } : {}), log: (l) => {
      lines.push(l);
      log(l);
    } });
    return lines;
  };
  const quiet = () => {};
  // Working containers a killed berth left (its pid gone) are removed once per process: each
  // holds a whole root folder in vfs storage.
  let swept: Promise<void> | undefined;
  const sweep = async () => {
    const names = await tool(['containers', '--noheading', '--format', '{{.ContainerName}}'], quiet, 'listing working containers').catch(() => [] as string[]);
    for (const name of names.map((n) => n.trim())) {
      // Only this PID namespace's: another namespace's pid says nothing here (two CI jobs in containers sharing a cache folder).
      const m = /^berth-run-(\d+)-(\d+)-[0-9a-f]+$/.exec(name);
      if (!m || m[1] !== PID_NS || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
      await tool(['rm', name], quiet, 'removing a left-over working container').catch(() => {});
    }
  };
  return {
    async create(platform, log) {
      await mkdir(storage, { recursive: true });
      await (swept ??= sweep());
      const name = `berth-run-${PID_NS}-${process.pid}-${randomBytes(6).toString('hex')}`;
      await tool(['from', '--quiet', '--pull=never', '--name', name, '--platform', formatPlatform(platform), 'scratch'], log, 'making a working container');
      const out = await tool(['mount', name], quiet, 'mounting the working container');
      const root = out.map((l) => l.trim()).filter(Boolean).at(-1);
      if (!root) throw new OperationalError('ENGINE_FAILED', `buildah mount ${name} printed no folder`);
      return { name, root };
    },
    async run(c, spec, log, doing) {
      const args = ['run', '--isolation', 'chroot'];
      if (spec.user) args.push('--user', spec.user);
      args.push('--workingdir', spec.workdir || '/');
      for (const e of spec.env) args.push('--env', e);
      if (spec.network === 'none') args.push('--network', 'none');
      if (spec.network === 'host') args.push('--network', 'host');
      for (const m of spec.mounts) {
        if (m.type === 'bind') args.push('--mount', `type=bind,source=${m.source},destination=${m.target}${m.readonly ? ',ro' : ',rw'}`);
        else args.push('--mount', `type=tmpfs,destination=${m.target}${m.size ? `,tmpfs-size=${m.size}` : ''}`);
      }
      args.push(c.name, '--', ...spec.argv);
      await tool(args, log, doing);
    },
    async remove(c) {
      await tool(['rm', c.name], quiet, 'removing the working container').catch(() => {});
    },
  };
}
