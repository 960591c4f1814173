/**
 * berth.yaml's `signing:` section, in the shape of kyma's image-builder `sign-config`:
 *
 *   signing:
 *     enabled-signers:          # which signers apply: '*' for every repository, plus org/repo
 *       '*': [release-key]
 *       kyma-project/kyma: [kyma-key]
 *     signers:
 *       - name: release-key
 *         type: cosign-key      # a cosign / PEM key pair (the types: src/sign/signer.ts SIGNER_KINDS)
 *         key: keys/cosign.key  # a path (relative to berth.yaml), or
 *         key-env: COSIGN_KEY   # an environment variable holding the PEM text
 *         password-env: COSIGN_PASSWORD   # where the key's password is (default COSIGN_PASSWORD)
 *         job-type: [postsubmit, release] # optional: only in these CI runs
 *       - name: signing-service
 *         type: notary          # kyma's signing service: POSTs the tags to sign, waits for 202
 *         endpoint: https://signing.example/sign
 *         secret: creds.json    # {"certData": base64 PEM, "privateKeyData": base64 PEM}: a client certificate, or
 *         token-env: SIGNING_TOKEN        # a bearer token in this variable
 *         ca: ca.pem            # optional: the CA the endpoint's certificate is checked with
 *         timeout: 30           # optional: seconds per request (default 30)
 *         retry-timeout: 300    # optional: seconds to keep retrying until 202 (default 300)
 *       - name: default-signify # or kyma image-builder's own shape, as its sign-config writes it:
 *         type: notary
 *         config:
 *           endpoint: https://signing.example/sign
 *           timeout: 5m         # Go durations
 *           retry-timeout: 10s
 *           secret:
 *             path: signify.yaml  # type signify: certData / privateKeyData (base64 PEM); type token: the token
 *             type: signify
 *
 * Checked whole when the file is read: every enabled name is a listed signer, names are
 * unique, a cosign-key signer has exactly one of key / key-env, a notary signer an endpoint
 * and exactly one of secret / token-env.
 */
import { configError, integer, list, oneOf, record, section, string, type Located, type Spec, type Where } from './schema.js';

/**
 * The kinds of CI run a signer can be limited to. `release` is a build of a pushed release
 * tag (it is a postsubmit too); `manual` is anything else that is not a pull request
 * (a workflow_dispatch, a run outside CI). Pull-request builds are never signed.
 */
export const JOB_TYPES = ['postsubmit', 'release', 'periodic', 'batch', 'manual'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const SIGNER_TYPES = ['cosign-key', 'notary'] as const;

export interface SignerSpec {
  name: string;
  type: (typeof SIGNER_TYPES)[number];
  key?: string;
  keyEnv?: string;
  passwordEnv?: string;
  jobTypes?: JobType[];
  /** notary: the signing service's address, and how berth authenticates to it. */
  endpoint?: string;
  secret?: string;
  tokenEnv?: string;
  /** notary (kyma's `secret: {type: token}`): a file holding the token. */
  tokenFile?: string;
  ca?: string;
  timeoutSeconds?: number;
  retryTimeoutSeconds?: number;
  /** Where it is declared, for messages: `berth.yaml:12`. */
  where: string;
}

export interface SigningConfig {
  /** `'*'` or `org/repo` → signer names, in the file's order. */
  enabledSigners: { repo: string; names: string[] }[];
  signers: SignerSpec[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REPO_KEY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const envName = (s: string) => (ENV_NAME.test(s) ? undefined : `"${s}" is not an environment variable name`);

const jobType: Spec<JobType> = {
  type: `one of ${JOB_TYPES.join(', ')}`,
  shape: `jobType(${JOB_TYPES.join('|')})`,
  read(node, where) {
    if (node.kind === 'scalar' && node.value === 'presubmit') throw configError(where, node.line, 'pull-request (presubmit) builds are never signed; list postsubmit, release, periodic, batch or manual');
    return oneOf(JOB_TYPES).read(node, where);
  },
};

/** A Go duration (`5m`, `10s`, `1h30m`, `500ms`), as kyma's sign-config writes timeouts, in seconds; undefined when it is not one. */
export function goDurationSeconds(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms'];
  return total;
}

const duration = string({ check: (s) => (goDurationSeconds(s) === undefined ? `"${s}" is not a duration (such as 30s, 5m, 1h)` : undefined) });

/** kyma image-builder's notary signer config, as its sign-config writes it. */
const kymaNotaryConfig = section({
  endpoint: string({ check: (s) => (/^https:\/\/[^/\s]+/.test(s) ? undefined : `"${s}" is not https: a signing service gets credentials only over https`) }),
  timeout: duration,
  'retry-timeout': duration,
  secret: section({ path: string({ check: (s) => (s === '' ? 'the secret path is empty' : undefined) }), type: oneOf(['signify', 'token'] as const) }),
});

const signerSection = section({
  name: string({ check: (s) => (/^[A-Za-z0-9_.-]+$/.test(s) ? undefined : `"${s}" is not a signer name (letters, digits, _ . -)`) }),
  type: oneOf(SIGNER_TYPES),
  key: string({ check: (s) => (s === '' ? 'the key path is empty' : undefined) }),
  'key-env': string({ check: envName }),
  'password-env': string({ check: envName }),
  'job-type': list(jobType),
  endpoint: string({ check: (s) => (/^https:\/\/[^/\s]+/.test(s) ? undefined : /^http:\/\//.test(s) ? `"${s}" is not https: a signing service gets credentials only over https` : `"${s}" is not an https address`) }),
  secret: string({ check: (s) => (s === '' ? 'the secret path is empty' : undefined) }),
  'token-env': string({ check: envName }),
  ca: string({ check: (s) => (s === '' ? 'the CA path is empty' : undefined) }),
  timeout: integer({ min: 1, max: 3600 }),
  'retry-timeout': integer({ min: 0, max: 86400 }),
  /** kyma's shape: `config: {endpoint, timeout: 5m, retry-timeout: 10s, secret: {path, type: signify|token}}`. */
  config: kymaNotaryConfig,
});

const inner = section({
  'enabled-signers': record(list(string()), { keyType: "'*' or org/repo", key: (k) => (k === '*' || REPO_KEY.test(k) ? undefined : `"${k}" is not '*' or org/repo`) }),
  signers: list(signerSection),
});

function child(node: Located, key: string): Located | undefined {
  return node.kind === 'map' ? node.entries.find((e) => e.key === key)?.value : undefined;
}

/** The `signing:` section's spec: the shape above, then the checks across its parts. */
export const signingSpec: Spec<SigningConfig> = {
  type: 'a mapping',
  shape: `signing${inner.shape}`,
  read(node, where) {
    const v = inner.read(node, where);
    const at = (path: string): Where => ({ file: where.file, path: where.path === '' ? path : `${where.path}.${path}` });
    const items = child(node, 'signers');
    const seen = new Set<string>();
    const signers: SignerSpec[] = (v.signers ?? []).map((s, i) => {
      const line = items?.kind === 'seq' ? items.items[i]!.line : node.line;
      const w = at(`signers[${i}]`);
      if (s.name === undefined) throw configError(w, line, 'a signer needs a name');
      if (seen.has(s.name)) throw configError(w, line, `signer "${s.name}" is listed twice`);
      seen.add(s.name);
      if (s.type === undefined) throw configError(w, line, `signer "${s.name}" needs a type (${SIGNER_TYPES.join(', ')})`);
      const keys: (keyof typeof s)[] = s.type === 'notary' ? ['endpoint', 'secret', 'token-env', 'ca', 'timeout', 'retry-timeout', 'config'] : ['key', 'key-env', 'password-env'];
      for (const k of Object.keys(s) as (keyof typeof s)[]) {
        if (!['name', 'type', 'job-type', ...keys].includes(k)) throw configError(w, line, `signer "${s.name}": ${String(k)} does not apply to a ${s.type} signer (it takes ${keys.join(', ')})`);
      }
      const kyma = s.config;
      if (kyma !== undefined) {
        const flat = (['endpoint', 'secret', 'token-env', 'timeout', 'retry-timeout'] as const).filter((k) => s[k] !== undefined);
        if (flat.length) throw configError(w, line, `signer "${s.name}": give config: (kyma's sign-config shape) or ${flat.join(', ')}, not both`);
        if (kyma.endpoint === undefined) throw configError(w, line, `signer "${s.name}": config needs an endpoint (the signing service's https address)`);
        if (kyma.secret?.path === undefined || kyma.secret.type === undefined) throw configError(w, line, `signer "${s.name}": config needs secret: {path, type: signify or token}`);
        const secs = (d: string | undefined) => (d === undefined ? undefined : Math.max(1, Math.ceil(goDurationSeconds(d)!)));
        const timeout = secs(kyma.timeout);
        const retry = kyma['retry-timeout'] === undefined ? undefined : Math.ceil(goDurationSeconds(kyma['retry-timeout'])!);
        return {
          name: s.name,
          type: s.type,
          ...(s['job-type'] !== undefined ? { jobTypes: s['job-type'] } : {}),
          endpoint: kyma.endpoint,
          ...(kyma.secret.type === 'signify' ? { secret: kyma.secret.path } : { tokenFile: kyma.secret.path }),
          ...(s.ca !== undefined ? { ca: s.ca } : {}),
          ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
          ...(retry !== undefined ? { retryTimeoutSeconds: retry } : {}),
          where: `${where.file}:${line}`,
        };
      }
      if (s.type === 'notary') {
        if (s.endpoint === undefined) throw configError(w, line, `signer "${s.name}" needs an endpoint (the signing service's https address)`);
        if ((s.secret === undefined) === (s['token-env'] === undefined)) throw configError(w, line, `signer "${s.name}" needs one of secret (a client certificate file) or token-env (a variable holding a token)`);
      } else if ((s.key === undefined) === (s['key-env'] === undefined)) throw configError(w, line, `signer "${s.name}" needs one of key (a path) or key-env (a variable holding the key)`);
      return {
        name: s.name,
        type: s.type,
        ...(s.key !== undefined ? { key: s.key } : {}),
        ...(s['key-env'] !== undefined ? { keyEnv: s['key-env'] } : {}),
        ...(s['password-env'] !== undefined ? { passwordEnv: s['password-env'] } : {}),
        ...(s['job-type'] !== undefined ? { jobTypes: s['job-type'] } : {}),
        ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
        ...(s.secret !== undefined ? { secret: s.secret } : {}),
        ...(s['token-env'] !== undefined ? { tokenEnv: s['token-env'] } : {}),
        ...(s.ca !== undefined ? { ca: s.ca } : {}),
        ...(s.timeout !== undefined ? { timeoutSeconds: s.timeout } : {}),
        ...(s['retry-timeout'] !== undefined ? { retryTimeoutSeconds: s['retry-timeout'] } : {}),
        where: `${where.file}:${line}`,
      };
    });
    const enabled = (v['enabled-signers'] ?? []).map((e) => {
      for (const n of e.value) {
        if (!seen.has(n)) throw configError(at(`enabled-signers.${e.key}`), e.line, `"${n}" is not a signer listed under signers (known: ${[...seen].join(', ') || 'none'})`);
      }
      return { repo: e.key, names: e.value };
    });
    return { enabledSigners: enabled, signers };
  },
};
