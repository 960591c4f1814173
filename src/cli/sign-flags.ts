import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { CONFIG_FILE, loadConfig } from '../config/read-config.js';
import { UsageError } from '../errors.js';
import { loadSigners, requireKeySigner, repoOf, runKinds, selectSigners, signatureRepositoryFrom, signerFromFile, type ImageSigner, type SignatureRepository, type SignedImage } from '../sign/index.js';
import { parseKeyValues } from './flags.js';
import type { CliIO } from './io.js';

/** Flags that choose who signs: `--key` files, else berth.yaml's `signing:` for `--repo` or the CI's org/repo. */
export interface SignerArgs {
  key?: string | string[];
  repo?: string;
}

export const SIGNER_OPTIONS = {
  key: { type: 'string', array: true, nargs: 1, describe: 'a private key to sign with: cosign.key, or a PKCS#8 / EC PEM key (password from COSIGN_PASSWORD); repeatable. Default: the signers berth.yaml enables' },
  repo: { type: 'string', describe: "org/repo choosing berth.yaml's enabled-signers (default: from Prow's REPO_OWNER/REPO_NAME or GITHUB_REPOSITORY)" },
} as const;

export function signerFlags<T>(y: Argv<T>) {
  return y.options(SIGNER_OPTIONS);
}

/** `-a KEY=VALUE` annotations, as cosign takes them. */
export function annotationsOf(values: string | readonly string[] | undefined): Record<string, string> {
  return parseKeyValues(listOf(values), '-a/--annotation');
}

/**
 * A repeatable flag's values. Such flags are declared `array: true` with `nargs: 1`, so that
 * --help says they repeat and one value is taken per flag: plain `array: true` would swallow
 * the positional image references that follow them (`--key k.key REF`).
 */
export function listOf(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

/**
 * The signers to use, keys read and decrypted: every `--key`, or else the berth.yaml signers
 * that apply to this repository and run. `none` says why nothing signs (a pull request, no
 * signer configured or enabled).
 */
export async function chooseSigners(args: SignerArgs, io: CliIO, configFile?: string): Promise<{ signers: ImageSigner[]; none?: string; pullRequest?: true }> {
  const keys = listOf(args.key);
  if (keys.length > 0) return { signers: await Promise.all(keys.map((k) => signerFromFile(k, { cwd: io.cwd, env: io.env }))) };
  if (args.repo !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(args.repo)) throw new UsageError('BAD_FLAG', `--repo: "${args.repo}" is not org/repo`);
  const file = configFile !== undefined ? resolve(io.cwd, configFile) : join(io.cwd, CONFIG_FILE);
  const config = await loadConfig(file, { display: configFile ?? CONFIG_FILE });
  const selection = selectSigners(config.signing, args.repo ?? repoOf(io.env), runKinds(io.env), configFile ?? CONFIG_FILE);
  if (selection.signers.length === 0) return { signers: [], none: selection.none ?? 'no signer applies', ...(selection.pullRequest ? { pullRequest: true as const } : {}) };
  return { signers: await loadSigners(selection.signers, { configFile: file, env: io.env }) };
}

/** What the signers did for one image, for a line on stderr: `signed by k (-> reg/repo:sha256-….sig); svc (https://sign.example)`. */
export function signatureSummary(r: SignedImage): string {
  const part = (status: string, verb: string) => {
    const rs = r.signatures.filter((s) => s.status === status);
    return rs.length ? [`${verb} ${rs.map((s) => `${s.signer} -> ${s.where}`).join(', ')}`] : [];
  };
  const skipped = r.signatures.filter((s) => s.status === 'skipped').map((s) => `not signed by ${s.signer}: ${s.reason}`);
  return [...part('added', 'signed by'), ...part('present', 'already signed by'), ...skipped].join('; ');
}

/** `berth release --sign [--recursive] [--key K]... [--repo org/repo]`. */
export interface ReleaseSignArgs extends SignerArgs {
  sign: boolean;
  recursive: boolean;
  provenance?: boolean;
}

export const PROVENANCE_OPTION = {
  type: 'boolean',
  describe: "attach signed SLSA v1 provenance (an in-toto statement in a DSSE envelope, signed by --key or berth.yaml's signers) as the cosign .att tag and an OCI referrer. Default: berth.yaml's provenance setting",
} as const;

export function releaseSignFlags<T>(y: Argv<T>) {
  return signerFlags(y)
    .option('sign', { type: 'boolean', default: false, describe: "sign each published index (or image) last, cosign's way, with --key or berth.yaml's signers" })
    .option('recursive', { type: 'boolean', default: false, describe: 'with --sign or --provenance: sign (attest) each per-arch image of an index too' })
    .option('provenance', PROVENANCE_OPTION);
}

export interface ReleaseSigning {
  plan?: { signers: string[]; recursive: boolean };
  execute?: { signers: ImageSigner[]; recursive: boolean; signatureRepository?: SignatureRepository };
  /** `--provenance`: the signers of the envelopes. */
  attest?: { signers: ImageSigner[]; recursive: boolean };
}

/**
 * What `release --sign` and `--provenance` need, settled before anything is published: the
 * signers, keys decrypted (so a wrong password fails first), the names the plan shows, and
 * where signatures go. Undefined without either, or when nothing signs here (a pull request:
 * said on stderr). Signing a release into a local layout is refused.
 */
export async function releaseSigning(args: ReleaseSignArgs, io: CliIO, toRegistry: boolean, provenance = args.provenance ?? false): Promise<ReleaseSigning | undefined> {
  if (!args.sign && !provenance) {
    if (args.recursive || listOf(args.key).length > 0) throw new UsageError('BAD_FLAG', '--recursive and --key sign a release only with --sign or --provenance');
    return undefined;
  }
  const flag = args.sign ? '--sign' : '--provenance';
  if (!toRegistry) throw new UsageError('BAD_FLAG', `${flag}: signatures and attestations are stored in a registry; publish to one (--registry, or registries: in release.yaml)`);
  const { signers, none, pullRequest } = await chooseSigners(args, io);
  if (signers.length === 0) {
    if (pullRequest) {
      io.stderr.write(`berth: not signing${provenance ? ' nor attesting' : ''}: ${none}\n`);
      return undefined;
    }
    throw new UsageError('BAD_FLAG', `${flag}: nothing to sign with: ${none}; or pass --key cosign.key`);
  }
  if (provenance) requireKeySigner(signers, 'add a cosign-key signer or --key');
  const signatureRepository = signatureRepositoryFrom(io.env);
  return {
    ...(args.sign
      ? {
          plan: { signers: signers.map((s) => s.name), recursive: args.recursive },
          execute: { signers, recursive: args.recursive, ...(signatureRepository ? { signatureRepository } : {}) },
        }
      : {}),
    ...(provenance ? { attest: { signers, recursive: args.recursive } } : {}),
  };
}
