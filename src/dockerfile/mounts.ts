import { posix } from 'node:path';

/**
 * RUN's flags as BuildKit reads them (frontend/dockerfile/instructions/commands_runmount.go):
 * `--mount=[type=bind|cache|tmpfs|secret|ssh,]KEY=VALUE,...`, `--network=default|none|host`,
 * `--security=sandbox|insecure`. Pure: values arrive already expanded.
 */
export type RunMount =
  | { type: 'bind'; target: string; source: string; from?: string; rw: boolean }
  | { type: 'cache'; target: string; id: string; source: string; from?: string; sharing: 'shared' | 'private' | 'locked'; mode: number; uid: number; gid: number; readonly: boolean }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; target: string; id: string; required: boolean; mode: number; uid: number; gid: number; env?: string };

export interface RunFlags {
  mounts: RunMount[];
  network: 'default' | 'none' | 'host';
}

export class MountError extends Error {}

/**
 * Parses RUN's written flags (`--mount=...`), each value already expanded with the ARGs in
 * scope. `workdir` makes a relative target absolute, as BuildKit does.
 */
export function parseRunFlags(written: readonly string[], workdir: string): RunFlags {
  const out: RunFlags = { mounts: [], network: 'default' };
  for (const flag of written) {
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(flag);
    const [, name = '', value = ''] = m ?? [];
    if (name === 'mount') out.mounts.push(parseMount(value, workdir));
    else if (name === 'network') {
      if (value !== 'default' && value !== 'none' && value !== 'host') throw new MountError(`--network=${value}: give default, none or host`);
      out.network = value;
    } else if (name === 'security') {
      if (value !== 'sandbox') throw new MountError(`--security=${value}: berth runs RUN sandboxed only`);
    } else throw new MountError(`unknown flag: --${name}`);
  }
  const targets = new Set<string>();
  for (const mount of out.mounts) {
    if (targets.has(mount.target)) throw new MountError(`--mount: two mounts at ${mount.target}`);
    targets.add(mount.target);
  }
  return out;
}

const octal = (v: string, what: string) => {
  if (!/^[0-7]{1,4}$/.test(v)) throw new MountError(`--mount: ${what}=${v} is not an octal mode`);
  return parseInt(v, 8);
};
const id = (v: string, what: string) => {
  if (!/^\d+$/.test(v)) throw new MountError(`--mount: ${what}=${v} is not a number`);
  return Number(v);
};
const bool = (v: string | undefined, what: string) => {
  if (v === undefined || v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new MountError(`--mount: ${what}=${v}: give true or false`);
};

export function parseMount(text: string, workdir: string): RunMount {
  const fields = new Map<string, string | undefined>();
  for (const part of splitCsv(text)) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (key === '') continue;
    fields.set(key, eq < 0 ? undefined : part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'bind';
  const take = (...keys: string[]) => {
    for (const k of keys) if (fields.has(k)) return fields.get(k) ?? '';
    return undefined;
  };
  const known: Record<string, string[]> = {
    bind: ['type', 'target', 'dst', 'destination', 'source', 'src', 'from', 'readonly', 'ro', 'rw', 'readwrite'],
    cache: ['type', 'target', 'dst', 'destination', 'source', 'src', 'from', 'id', 'sharing', 'mode', 'uid', 'gid', 'readonly', 'ro', 'rw', 'readwrite'],
    tmpfs: ['type', 'target', 'dst', 'destination', 'size'],
    secret: ['type', 'target', 'dst', 'destination', 'id', 'required', 'mode', 'uid', 'gid', 'env'],
  };
  if (type === 'ssh') throw new MountError('--mount=type=ssh: berth forwards no SSH agent; fetch with a secret (--mount=type=secret) instead');
  const keys = known[type];
  if (!keys) throw new MountError(`--mount: unknown type "${type}" (bind, cache, tmpfs, secret)`);
  for (const k of fields.keys()) if (!keys.includes(k)) throw new MountError(`--mount=type=${type}: unknown key "${k}"`);
  const rawTarget = take('target', 'dst', 'destination');
  const abs = (p: string) => posix.resolve(workdir || '/', p);
  switch (type) {
    case 'bind': {
      if (!rawTarget) throw new MountError('--mount=type=bind: needs target=');
      const from = take('from');
      const rw = fields.has('rw') || fields.has('readwrite') ? bool(take('rw', 'readwrite'), 'rw') : fields.has('readonly') || fields.has('ro') ? !bool(take('readonly', 'ro'), 'readonly') : false;
      return { type, target: abs(rawTarget), source: cleanSource(take('source', 'src') ?? ''), ...(from ? { from } : {}), rw };
    }
    case 'cache': {
      if (!rawTarget) throw new MountError('--mount=type=cache: needs target=');
      const target = abs(rawTarget);
      const sharing = take('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw new MountError(`--mount=type=cache: sharing=${sharing}: give shared, private or locked`);
      const from = take('from');
      const ro = fields.has('readonly') || fields.has('ro') ? bool(take('readonly', 'ro'), 'readonly') : false;
      return {
        type,
        target,
        id: take('id') || target,
        source: cleanSource(take('source', 'src') ?? ''),
        ...(from ? { from } : {}),
        sharing,
        mode: fields.has('mode') ? octal(take('mode')!, 'mode') : 0o755,
        uid: fields.has('uid') ? id(take('uid')!, 'uid') : 0,
        gid: fields.has('gid') ? id(take('gid')!, 'gid') : 0,
        readonly: ro,
      };
    }
    case 'tmpfs': {
      if (!rawTarget) throw new MountError('--mount=type=tmpfs: needs target=');
      const size = take('size');
      if (size !== undefined && !/^\d+[kmg]?$/i.test(size)) throw new MountError(`--mount=type=tmpfs: size=${size} is not a size`);
      return { type, target: abs(rawTarget), ...(size ? { size: sizeBytes(size) } : {}) };
    }
    default: {
      const secretId = take('id') ?? (rawTarget ? posix.basename(rawTarget) : '');
      if (!secretId) throw new MountError('--mount=type=secret: needs id= or target=');
      const env = take('env');
      return {
        type: 'secret',
        target: rawTarget ? abs(rawTarget) : env !== undefined && !rawTarget ? '' : `/run/secrets/${secretId}`,
        id: secretId,
        required: fields.has('required') ? bool(take('required'), 'required') : false,
        mode: fields.has('mode') ? octal(take('mode')!, 'mode') : 0o400,
        uid: fields.has('uid') ? id(take('uid')!, 'uid') : 0,
        gid: fields.has('gid') ? id(take('gid')!, 'gid') : 0,
        ...(env ? { env } : {}),
      };
    }
  }
}

function sizeBytes(s: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(s)!;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
}

/** `./a/b/`, `/a/b` → `a/b`; `.` → `` (the whole source). */
function cleanSource(p: string): string {
  return posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Splits on commas outside double quotes, as Go's encoding/csv reads the flag. */
function splitCsv(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
