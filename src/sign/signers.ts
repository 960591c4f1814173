/**
 * Which keys sign: from `--key` files, or from berth.yaml's `signing:` section chosen for the
 * repository being built (`enabled-signers`: the union of `'*'` and `org/repo`) and the kind
 * of CI run (`job-type`), as kyma's image-builder chooses them. Pull-request builds are never
 * signed. Keys are read and decrypted here, before anything is published, so a wrong password
 * fails a release before its first push.
 */
import { resolve } from 'node:path';
import type { JobType, SignerSpec, SigningConfig } from '../config/signing.js';
import { ciContext } from '../status/ci.js';
import { pickEnv } from '../status/env.js';
import { cosignKeySigner, readKeyFile } from './cosign-signer.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';
import { openSigners, type ImageSigner } from './signer.js';

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

/** `'*'` and `org/repo` entries, as `'*': [a, b]; org/repo: [c]`. */
function enabledList(config: SigningConfig): string {
  return config.enabledSigners.length ? config.enabledSigners.map((e) => `${e.repo === '*' ? "'*'" : e.repo}: [${e.names.join(', ')}]`).join('; ') : 'none';
}

/**
 * The signers of `config` that apply to `repo` in a run of `kinds`. Pure. When none does,
 * `none` says which signers exist and why none matched (the repository, the job type).
 */
export function selectSigners(config: SigningConfig | undefined, repo: string | undefined, kinds: readonly RunKind[], file = 'berth.yaml'): Selection {
  if (kinds.includes('presubmit')) return { signers: [], none: 'pull-request builds are not signed', pullRequest: true };
  if (!config || config.signers.length === 0) return { signers: [], none: `${file} names no signers (signing.signers)` };
  const names = new Set<string>();
  for (const e of config.enabledSigners) if (e.repo === '*' || e.repo === repo) for (const n of e.names) names.add(n);
  const listed = config.signers.map((s) => `${s.name} (${s.type})`).join(', ');
  if (names.size === 0) {
    const forRepo = repo === undefined ? 'this build, which names no org/repo (give --repo, or run in CI with REPO_OWNER/REPO_NAME or GITHUB_REPOSITORY)' : repo;
    return { signers: [], none: `${file} lists signers ${listed}, but signing.enabled-signers enables none for ${forRepo} (it enables ${enabledList(config)})` };
  }
  const enabled = config.signers.filter((s) => names.has(s.name));
  const signers = enabled.filter((s) => !s.jobTypes || s.jobTypes.some((j) => kinds.includes(j)));
  if (signers.length === 0) return { signers: [], none: `the enabled signers (${enabled.map((s) => `${s.name}: job-type ${s.jobTypes!.join('/')}`).join(', ')}) are limited to other job types than this run's (${kinds.join('/')})` };
  return { signers };
}

/** A signer from a private key file (`--key`), its password from COSIGN_PASSWORD. */
export async function signerFromFile(path: string, opts: { cwd: string; env: Readonly<Record<string, string | undefined>>; shown?: string }): Promise<ImageSigner> {
  const shown = opts.shown ?? path;
  const key = await loadPrivateKey(await readKeyFile(resolve(opts.cwd, path), shown), { password: opts.env.COSIGN_PASSWORD, where: shown });
  return cosignKeySigner(shown, key);
}

/** The signers of a selection, opened (keys decrypted, services' credentials read). `configFile` is berth.yaml (paths are relative to it). */
export async function loadSigners(specs: readonly SignerSpec[], opts: { configFile: string; env: Readonly<Record<string, string | undefined>> }): Promise<ImageSigner[]> {
  return openSigners(specs, opts);
}

/** A public key file (`berth verify --key`). */
export async function publicKeyFromFile(path: string, opts: { cwd: string }): Promise<ReturnType<typeof loadPublicKey>> {
  return loadPublicKey(await readKeyFile(resolve(opts.cwd, path), path), path);
}
