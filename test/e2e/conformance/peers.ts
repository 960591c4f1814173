/**
 * The conformance suite's builders and readers. Every image, whoever built it, is read the
 * same way: copied into an OCI layout (skopeo, or buildah push), unpacked by umoci, and its
 * root file system listed with lstat (links reported as links, never followed).
 */
import { createHash } from 'node:crypto';
import { chmod, chown, lchown, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';

export type Peer = 'buildah' | 'classic' | 'buildkit';
export const PEERS: Peer[] = ['buildah', 'classic', 'buildkit'];

/** A file of a case's context (or of an archive in it). */
export type Spec =
  | string
  | { content?: string; mode?: number; uid?: number; gid?: number }
  | { dir: true; mode?: number; uid?: number; gid?: number }
  | { symlink: string }
  | { hardlink: string }
  | { tar: { compress: 'none' | 'gzip' | 'bzip2' | 'xz'; files: Record<string, Spec>; order?: string[] } }
  | { gzipOf: string }
  | { copy: string; mode?: number };

export interface Case {
  name: string;
  /** `{{PLAIN}}`, `{{MERGED}}`, `{{URL}}` are replaced by the bases' names and the file server's address. */
  dockerfile: string;
  files?: Record<string, Spec>;
  args?: Record<string, string>;
  target?: string;
  /** One platform each (default linux/amd64); several make berth build one index and the peers one image each. */
  platforms?: string[];
  /** Peers that lack what the case uses (they fail or ignore it): not compared. Value: why. */
  lacks?: Partial<Record<Peer, string>>;
  /** Differences kept on purpose: the value is a phrase docs/dockerfile.md holds. */
  deliberate?: Partial<Record<Peer, string>>;
  /** berth refuses the case on purpose (exit 2): the phrase docs/dockerfile.md holds. */
  refused?: string;
}

export interface Built {
  tree: string[];
  config: Record<string, unknown>;
}

/** Runs a command; resolves to stdout, rejects with its stderr's tail. */
export function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim().split('\n').slice(-6).join('\n')}`));
      else resolve(stdout);
    });
  });
}

/** Writes a tree of specs under `root` (owners and modes set: the suite runs as root). */
export async function writeTree(root: string, files: Record<string, Spec>, work: string): Promise<void> {
  await mkdir(root, { recursive: true });
  const links: [string, string][] = [];
  for (const [path, spec] of Object.entries(files)) {
    const abs = join(root, path);
    await mkdir(join(abs, '..'), { recursive: true });
    if (typeof spec === 'string') {
      await writeFile(abs, spec);
      await chmod(abs, 0o644);
    } else if ('dir' in spec) {
      await mkdir(abs, { recursive: true });
      await chmod(abs, spec.mode ?? 0o755);
      await chown(abs, spec.uid ?? 0, spec.gid ?? 0);
    } else if ('symlink' in spec) {
      await symlink(spec.symlink, abs);
      await lchown(abs, 0, 0);
    } else if ('hardlink' in spec) {
      links.push([join(root, spec.hardlink), abs]);
    } else if ('tar' in spec) {
      const src = join(work, `tar-${Math.random().toString(36).slice(2)}`);
      await writeTree(src, spec.tar.files, work);
      const names = spec.tar.order ?? Object.keys(spec.tar.files);
      const z = { none: [], gzip: ['--gzip'], bzip2: ['--bzip2'], xz: ['--xz'] }[spec.tar.compress];
      await sh('tar', ['-c', '-f', abs, ...z, '--numeric-owner', '--no-recursion', '--mtime=@0', '-C', src, ...names]);
    } else if ('copy' in spec) {
      await writeFile(abs, await readFile(spec.copy));
      await chmod(abs, spec.mode ?? 0o755);
    } else if ('gzipOf' in spec) {
      await sh('sh', ['-c', `printf '%s' "$1" | gzip -n > "$2"`, 'sh', spec.gzipOf, abs]);
    } else {
      await writeFile(abs, spec.content ?? '');
      await chmod(abs, spec.mode ?? 0o644);
      await chown(abs, spec.uid ?? 0, spec.gid ?? 0);
    }
  }
  for (const [target, abs] of links) await link(target, abs);
}

/**
 * The root file system under `root`, one line per entry: path, type, mode, owner, size and
 * content digest (files), target (links). mtimes aside.
 */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs);
      const meta = `${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.push(`/${path} link ${meta} -> ${await readlink(abs)}`);
      else if (st.isDirectory()) {
        out.push(`/${path}/ dir ${meta}`);
        await walk(path);
      } else if (st.isFile()) out.push(`/${path} file ${meta} ${st.size} ${createHash('sha256').update(await readFile(abs)).digest('hex').slice(0, 16)}`);
      else out.push(`/${path} other ${meta}`);
    }
  };
  await walk('');
  return out;
}

const CONFIG_FIELDS = ['Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild'];

/** The config fields the suite compares, empty values dropped (null, '', [], {} all mean unset), engines' own labels aside. */
export function comparableConfig(config: Record<string, unknown>): Record<string, unknown> {
  const c = (config.config ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { platform: [config.os, config.architecture, config.variant].filter(Boolean).join('/') };
  for (const key of CONFIG_FIELDS) {
    let v = c[key];
    if (key === 'Labels' && v) v = Object.fromEntries(Object.entries(v as Record<string, string>).filter(([k]) => !k.startsWith('io.buildah.')));
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue; // buildah writes [] where the others write null
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[key] = v;
  }
  return out;
}

/**
 * Reads one image of an OCI layout (by ref name): umoci unpacks it, the tree is listed, the
 * config read (from `config`, when given: the Docker config as the peer wrote it, before a
 * conversion to OCI dropped Healthcheck, Shell and OnBuild).
 */
export async function readLayout(layout: string, ref: string, bundle: string, written?: Record<string, unknown>): Promise<Built> {
  await sh('umoci', ['unpack', '--image', `${layout}:${ref}`, bundle]);
  const tree = await listTree(join(bundle, 'rootfs'));
  if (written) return { tree, config: comparableConfig(written) };
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref) ?? index.manifests[0]!;
  const blob = (d: string) => readFile(join(layout, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const manifest = JSON.parse(await blob(desc.digest)) as { config: { digest: string } };
  const config = JSON.parse(await blob(manifest.config.digest)) as Record<string, unknown>;
  return { tree, config: comparableConfig(config) };
}

/** The config of the one image in a `docker save` archive, as written (manifest.json's Config). */
export async function dockerArchiveConfig(archive: string): Promise<Record<string, unknown>> {
  const manifest = JSON.parse(await sh('tar', ['-xOf', archive, 'manifest.json'])) as { Config: string }[];
  return JSON.parse(await sh('tar', ['-xOf', archive, manifest[0]!.Config])) as Record<string, unknown>;
}

/** JSON with object keys sorted: label and port order is not part of the image's meaning. */
function canonical(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

/** The lines of `a` and `b` that differ, `-` only in a, `+` only in b; config keys likewise. */
export function differences(a: Built, b: Built): string[] {
  const out: string[] = [];
  const inB = new Set(b.tree);
  const inA = new Set(a.tree);
  for (const l of a.tree) if (!inB.has(l)) out.push(`- ${l}`);
  for (const l of b.tree) if (!inA.has(l)) out.push(`+ ${l}`);
  for (const key of new Set([...Object.keys(a.config), ...Object.keys(b.config)])) {
    const x = canonical(a.config[key]);
    const y = canonical(b.config[key]);
    if (x !== y) out.push(`config ${key}: ${x ?? '(unset)'} vs ${y ?? '(unset)'}`);
  }
  return out;
}

/** Runs `fn` over `items`, `n` at a time, in order of start. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  }));
  return results;
}
