/**
 * Which keys sign: from `--key` files, or from berth.yaml's `signing:` section chosen for the
 * repository being built (`enabled-signers`: the union of `'*'` and `org/repo`) and the kind
 * of CI run (`job-type`), as kyma's image-builder chooses them. Pull-request builds are never
 * signed. Keys are read and decrypted here, before anything is published, so a wrong password
 * fails a release before its first push.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { JobType, SignerSpec, SigningConfig } from '../config/signing.js';
import { OperationalError, UsageError } from '../errors.js';
import { ciContext } from '../status/ci.js';
import { pickEnv } from '../status/env.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';
import type { Signer } from './sign.js';

/** The kind of run the environment says this is; `presubmit` for a pull request. */
export type RunKind = JobType | 'presubmit';

/**
 * The CI run's kinds: a pull request is `presubmit`; a pushed release tag is both `release`
 * and `postsubmit`; a push to a branch `postsubmit`; Prow's periodic and batch jobs and
 * GitHub's schedule are `periodic` / `batch`; anything else (workflow_dispatch, no CI) `manual`.
 */
export function runKinds(env: Readonly<Record<string, string | undefined>>): RunKind[] {
  const picked = pickEnv(env);
  const ci = ciContext(picked);
  if (ci.event === 'pull_request') return ['presubmit'];
  if (ci.event === 'tag') return ['release', 'postsubmit'];
  if (ci.event === 'push') return ['postsubmit'];
  if (ci.system === 'prow') return picked.JOB_TYPE === 'periodic' ? ['periodic'] : picked.JOB_TYPE === 'batch' ? ['batch'] : ['manual'];
  if (ci.system === 'github-actions' && env.GITHUB_EVENT_NAME === 'schedule') return ['periodic'];
  return ['manual'];
}

/** `org/repo` of the build, from Prow (REPO_OWNER, REPO_NAME) or GitHub Actions (GITHUB_REPOSITORY). */
export function repoOf(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const picked = pickEnv(env);
  if (picked.REPO_OWNER && picked.REPO_NAME) return `${picked.REPO_OWNER}/${picked.REPO_NAME}`;
  return picked.GITHUB_REPOSITORY;
}

export interface Selection {
  /** The signers that apply, in berth.yaml's order. */
  signers: SignerSpec[];
  /** Why nothing is signed, when nothing is. */
  none?: string;
  /** Nothing is signed by policy (a pull-request build), not for want of a signer. */
  pullRequest?: true;
}

/** The signers of `config` that apply to `repo` in a run of `kinds`. Pure. */
export function selectSigners(config: SigningConfig | undefined, repo: string | undefined, kinds: readonly RunKind[]): Selection {
  if (kinds.includes('presubmit')) return { signers: [], none: 'pull-request builds are not signed', pullRequest: true };
  if (!config || config.signers.length === 0) return { signers: [], none: 'berth.yaml names no signers (signing.signers)' };
  const names = new Set<string>();
  for (const e of config.enabledSigners) if (e.repo === '*' || e.repo === repo) for (const n of e.names) names.add(n);
  if (names.size === 0) return { signers: [], none: `no signer is enabled for ${repo ?? "this repository (no org/repo from CI or --repo)"} in signing.enabled-signers` };
  const enabled = config.signers.filter((s) => names.has(s.name));
  const signers = enabled.filter((s) => !s.jobTypes || s.jobTypes.some((j) => kinds.includes(j)));
  if (signers.length === 0) return { signers: [], none: `the enabled signers (${enabled.map((s) => s.name).join(', ')}) are limited to other job types than ${kinds.join('/')}` };
  return { signers };
}

/** Reads a key file, saying which file when it cannot be read. */
async function readKeyFile(path: string, shown: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('UNREADABLE', `${shown}: no such key file`);
    if (code === 'EISDIR') throw new UsageError('UNREADABLE', `${shown}: is a directory, not a key file`);
    throw new OperationalError('UNREADABLE', `${shown}: cannot read the key file (${code ?? 'error'})`, { cause: err });
  }
}

function passwordFrom(env: Readonly<Record<string, string | undefined>>, variable: string): string | undefined {
  return env[variable];
}

/** A signer from a private key file (`--key`), its password from COSIGN_PASSWORD. */
export async function signerFromFile(path: string, opts: { cwd: string; env: Readonly<Record<string, string | undefined>>; shown?: string }): Promise<Signer> {
  const shown = opts.shown ?? path;
  const key = await loadPrivateKey(await readKeyFile(resolve(opts.cwd, path), shown), { password: passwordFrom(opts.env, 'COSIGN_PASSWORD'), where: shown });
  return { name: shown, key, publicKey: createPublicKey(key) };
}

/** The cosign-key signers of a selection, their keys read and decrypted. `configFile` is berth.yaml (key paths are relative to it). */
export async function loadSigners(specs: readonly SignerSpec[], opts: { configFile: string; env: Readonly<Record<string, string | undefined>> }): Promise<Signer[]> {
  // notary signers hold no key of berth's: they sign through their service (./notary.ts).
  return Promise.all(
    specs.filter((s) => s.type === 'cosign-key').map(async (s): Promise<Signer> => {
      const passwordEnv = s.passwordEnv ?? 'COSIGN_PASSWORD';
      let text: string;
      let where: string;
      if (s.keyEnv !== undefined) {
        where = `signer ${s.name} ($${s.keyEnv})`;
        const v = opts.env[s.keyEnv];
        if (v === undefined || v.trim() === '') throw new UsageError('BAD_KEY', `${where}: ${s.keyEnv} is not set (${s.where})`);
        text = v;
      } else {
        where = `signer ${s.name} (${s.key})`;
        text = await readKeyFile(resolve(dirname(opts.configFile), s.key!), where);
      }
      const key = await loadPrivateKey(text, { password: passwordFrom(opts.env, passwordEnv), where, passwordSource: passwordEnv });
      return { name: s.name, key, publicKey: createPublicKey(key) };
    }),
  );
}

/** A public key file (`berth verify --key`). */
export async function publicKeyFromFile(path: string, opts: { cwd: string }): Promise<ReturnType<typeof loadPublicKey>> {
  return loadPublicKey(await readKeyFile(resolve(opts.cwd, path), path), path);
}
