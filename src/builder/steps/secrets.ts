import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';

/**
 * `--secret id=NAME[,src=FILE|,env=VAR]` as BuildKit takes it (`source=`, `type=file|env`
 * too; with neither src nor env, the environment variable NAME, else a file NAME). A secret's
 * value is read only when a RUN mounts it, and never logged, stored, hashed or put in a layer.
 */
export type SecretSource = { kind: 'file'; path: string } | { kind: 'env'; name: string };

export function parseSecretFlag(text: string, cwd: string): [string, SecretSource] {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UsageError('BAD_FLAG', `--secret ${text}: "${part}" is not KEY=VALUE (give id=NAME,src=FILE or id=NAME,env=VAR)`);
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  for (const k of fields.keys()) if (!['id', 'src', 'source', 'env', 'type'].includes(k)) throw new UsageError('BAD_FLAG', `--secret ${text}: unknown key "${k}" (id, src, env, type)`);
  const id = fields.get('id');
  if (!id) throw new UsageError('BAD_FLAG', `--secret ${text}: needs id=NAME`);
  const type = fields.get('type');
  if (type !== undefined && type !== 'file' && type !== 'env') throw new UsageError('BAD_FLAG', `--secret ${text}: type=${type}: give file or env`);
  const src = fields.get('src') ?? fields.get('source');
  const env = fields.get('env');
  if (src !== undefined && env !== undefined) throw new UsageError('BAD_FLAG', `--secret id=${id}: give src= or env=, not both`);
  if (env !== undefined || type === 'env') return [id, { kind: 'env', name: env ?? src ?? id }];
  return [id, { kind: 'file', path: resolve(cwd, src ?? id) }];
}

export function parseSecretFlags(texts: readonly string[], cwd: string): Map<string, SecretSource> {
  const out = new Map<string, SecretSource>();
  for (const t of texts) {
    const [id, src] = parseSecretFlag(t, cwd);
    if (out.has(id)) throw new UsageError('BAD_FLAG', `--secret id=${id}: given twice`);
    out.set(id, src);
  }
  return out;
}

/** The secret's bytes, or undefined when its source is absent. */
export async function readSecret(src: SecretSource, env: NodeJS.ProcessEnv): Promise<Buffer | undefined> {
  if (src.kind === 'env') return env[src.name] === undefined ? undefined : Buffer.from(env[src.name]!);
  return readFile(src.path).catch(() => undefined);
}
