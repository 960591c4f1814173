/**
 * Signing and verification keys, ECDSA P-256 (cosign's default and the one scheme its
 * signature spec requires):
 *
 * - private keys in PEM: PKCS#8 (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with a password),
 *   SEC1 (`EC PRIVATE KEY`, plain or OpenSSL-encrypted), and cosign's own encrypted files
 *   (`ENCRYPTED SIGSTORE PRIVATE KEY`, formerly `ENCRYPTED COSIGN PRIVATE KEY`: a PKCS#8 key
 *   sealed with NaCl secretbox under a key derived by scrypt from the password, as
 *   go-securesystemslib's `encrypted` package writes it);
 * - public keys in PEM: PKIX (`PUBLIC KEY`), as `cosign generate-key-pair` writes cosign.pub.
 *
 * The password comes from the caller (COSIGN_PASSWORD in the CLI). No message ever quotes
 * key material or a password.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { UsageError } from '../errors.js';
import { isObject } from '../oci/descriptor.js';

export const SIGSTORE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

/** scrypt parameters berth writes: go-securesystemslib's original set, which every cosign and sigstore-rs release reads. */
export const SCRYPT_PARAMS = { N: 32768, r: 8, p: 1 } as const;
const SALT_SIZE = 32;
const NONCE_SIZE = 24;
const BOX_KEY_SIZE = 32;

interface PemBlock {
  label: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The block's text, for node's PEM parser. */
  text: string;
}

/** The PEM blocks of a file (text outside blocks is ignored, as openssl does). */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    const label = m[1]!;
    const lines = m[2]!.split(/\r?\n/);
    const headers: Record<string, string> = {};
    let i = 0;
    if (lines.some((l) => /^[A-Za-z-]+: /.test(l))) {
      for (; i < lines.length && lines[i] !== ''; i++) {
        const h = /^([A-Za-z-]+): (.*)$/.exec(lines[i]!);
        if (h) headers[h[1]!] = h[2]!;
      }
    }
    out.push({ label, headers, body: Buffer.from(lines.slice(i).join(''), 'base64'), text: m[0] });
  }
  return out;
}

/** Why a key is not ECDSA P-256, or undefined when it is. */
function notP256(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === 'prime256v1' ? undefined : `an ECDSA key on ${curve ?? 'an unknown curve'}`;
  }
  return type === 'rsa' || type === 'rsa-pss' ? 'an RSA key' : `an ${type ?? 'unknown'} key`;
}

function wrongType(where: string, what: string): UsageError {
  return new UsageError('BAD_KEY', `${where}: is ${what}; berth signs and verifies with ECDSA P-256 keys (cosign's default: cosign generate-key-pair or berth keygen)`);
}

export interface PrivateKeyOptions {
  /** The password for an encrypted key; undefined when none was given (COSIGN_PASSWORD unset). */
  password: string | undefined;
  /** Names the key in messages: a path, or `$VAR`. */
  where: string;
  /** Names where the password comes from, for messages. */
  passwordSource?: string;
}

/** Reads an ECDSA P-256 private key from PEM text in any of the formats above. */
export async function loadPrivateKey(text: string, opts: PrivateKeyOptions): Promise<KeyObject> {
  const where = opts.where;
  const from = opts.passwordSource ?? 'COSIGN_PASSWORD';
  const blocks = pemBlocks(text).filter((b) => b.label !== 'EC PARAMETERS');
  const block = blocks.find((b) => b.label.includes('PRIVATE KEY'));
  if (!block) {
    if (blocks.some((b) => b.label === 'PUBLIC KEY')) throw new UsageError('BAD_KEY', `${where}: is a public key; signing needs the private key (cosign.key)`);
    throw new UsageError('BAD_KEY', `${where}: holds no PEM private key (want cosign.key, or a PKCS#8 or EC PEM key)`);
  }
  let key: KeyObject;
  if (block.label === SIGSTORE_KEY_LABEL || block.label === COSIGN_KEY_LABEL) {
    const der = await decryptCosignKey(block.body, opts.password ?? '', where, opts.password === undefined ? `it is encrypted and ${from} is not set` : `wrong password (${from})`);
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      throw new UsageError('BAD_KEY', `${where}: the decrypted key is not a PKCS#8 private key`);
    }
  } else if (block.label === 'RSA PRIVATE KEY') {
    throw wrongType(where, 'an RSA key');
  } else {
    const encrypted = block.label === 'ENCRYPTED PRIVATE KEY' || block.headers['Proc-Type']?.includes('ENCRYPTED') === true;
    if (encrypted && opts.password === undefined) throw new UsageError('BAD_KEY', `${where}: the key is encrypted and ${from} is not set`);
    try {
      key = createPrivateKey({ key: block.text, format: 'pem', ...(encrypted ? { passphrase: opts.password } : {}) });
    } catch {
      throw new UsageError('BAD_KEY', encrypted ? `${where}: cannot decrypt the key: wrong password (${from})` : `${where}: not a valid ${block.label} PEM block`);
    }
  }
  const why = notP256(key);
  if (why) throw wrongType(where, why);
  return key;
}

/** Reads an ECDSA P-256 public key (PKIX PEM, as cosign.pub). */
export function loadPublicKey(text: string, where: string): KeyObject {
  const blocks = pemBlocks(text);
  const block = blocks.find((b) => b.label === 'PUBLIC KEY');
  if (!block) {
    if (blocks.some((b) => b.label.includes('PRIVATE KEY'))) throw new UsageError('BAD_KEY', `${where}: is a private key; verification takes the public key (cosign.pub)`);
    if (blocks.some((b) => b.label === 'RSA PUBLIC KEY')) throw wrongType(where, 'an RSA key');
    throw new UsageError('BAD_KEY', `${where}: holds no PEM public key (want a "PUBLIC KEY" block, as cosign.pub)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.text, format: 'pem' });
  } catch {
    throw new UsageError('BAD_KEY', `${where}: not a valid PUBLIC KEY PEM block`);
  }
  const why = notP256(key);
  if (why) throw wrongType(where, why);
  return key;
}

/** The PKIX PEM of a key's public half, as cosign.pub holds it. */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

function scryptAsync(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * params.N * params.r * params.p + (32 << 20);
    scrypt(Buffer.from(password, 'utf8'), salt, BOX_KEY_SIZE, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function base64Field(v: unknown, size: number | undefined, where: string, what: string): Buffer {
  if (typeof v !== 'string') throw new UsageError('BAD_KEY', `${where}: not a cosign key file (no ${what})`);
  const b = Buffer.from(v, 'base64');
  if (size !== undefined && b.length !== size) throw new UsageError('BAD_KEY', `${where}: not a cosign key file (${what} is ${b.length} bytes, not ${size})`);
  return b;
}

/**
 * Opens the body of a cosign key file: `{"kdf":{"name":"scrypt","params":{N,r,p},"salt"},
 * "cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}`. Parameters outside what
 * go-securesystemslib accepts (N up to 2^17, r 8, p 1) are refused, so a crafted file cannot
 * make berth spend gigabytes; a failed open says `wrongPassword`.
 */
export async function decryptCosignKey(body: Uint8Array, password: string, where: string, wrongPassword: string): Promise<Buffer> {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new UsageError('BAD_KEY', `${where}: not a cosign key file (its body is not JSON)`);
  }
  const kdf = isObject(doc) ? doc.kdf : undefined;
  const cipher = isObject(doc) ? doc.cipher : undefined;
  if (!isObject(doc) || !isObject(kdf) || !isObject(cipher)) throw new UsageError('BAD_KEY', `${where}: not a cosign key file (no kdf and cipher)`);
  if (kdf.name !== 'scrypt') throw new UsageError('BAD_KEY', `${where}: unsupported key derivation ${JSON.stringify(kdf.name ?? null)} (want scrypt)`);
  if (cipher.name !== 'nacl/secretbox') throw new UsageError('BAD_KEY', `${where}: unsupported cipher ${JSON.stringify(cipher.name ?? null)} (want nacl/secretbox)`);
  const params = isObject(kdf.params) ? kdf.params : {};
  const { N, r, p } = params as { N?: unknown; r?: unknown; p?: unknown };
  if (typeof N !== 'number' || typeof r !== 'number' || typeof p !== 'number' || ![1 << 15, 1 << 16, 1 << 17].includes(N) || r !== 8 || p !== 1) {
    throw new UsageError('BAD_KEY', `${where}: unexpected scrypt parameters (want N 32768, 65536 or 131072, r 8, p 1)`);
  }
  const salt = base64Field(kdf.salt, undefined, where, 'salt');
  const nonce = base64Field(cipher.nonce, NONCE_SIZE, where, 'nonce');
  const sealed = base64Field(doc.ciphertext, undefined, where, 'ciphertext');
  const boxKey = await scryptAsync(password, salt, { N, r, p });
  try {
    return Buffer.from(xsalsa20poly1305(boxKey, nonce).decrypt(sealed));
  } catch {
    throw new UsageError('BAD_KEY', `${where}: cannot decrypt the key: ${wrongPassword}`);
  }
}

/** Seals a PKCS#8 DER key as go-securesystemslib's `encrypted.Encrypt` does (same JSON, same field order). */
export async function encryptCosignKey(pkcs8: Uint8Array, password: string): Promise<Buffer> {
  const salt = randomBytes(SALT_SIZE);
  const nonce = randomBytes(NONCE_SIZE);
  const boxKey = await scryptAsync(password, salt, SCRYPT_PARAMS);
  const sealed = Buffer.from(xsalsa20poly1305(boxKey, nonce).encrypt(pkcs8));
  const json =
    `{"kdf":{"name":"scrypt","params":{"N":${SCRYPT_PARAMS.N},"r":${SCRYPT_PARAMS.r},"p":${SCRYPT_PARAMS.p}},"salt":"${salt.toString('base64')}"},` +
    `"cipher":{"name":"nacl/secretbox","nonce":"${nonce.toString('base64')}"},"ciphertext":"${sealed.toString('base64')}"}`;
  return Buffer.from(json, 'utf8');
}

/** PEM text as Go's pem.EncodeToMemory writes it: 64-character lines. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export type KeyFileFormat = 'cosign' | 'pkcs8';
export const KEY_FILE_FORMATS: readonly KeyFileFormat[] = ['cosign', 'pkcs8'];

/**
 * A new ECDSA P-256 key pair as files: the private key as cosign writes it (an
 * `ENCRYPTED SIGSTORE PRIVATE KEY` sealed with `password`, even an empty one) or as PKCS#8
 * PEM (`ENCRYPTED PRIVATE KEY`, AES-256-CBC, with a password; `PRIVATE KEY` with an empty
 * one), and the public key as PKIX PEM.
 */
export async function generateKeyFiles(password: string, format: KeyFileFormat): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  if (format === 'cosign') {
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    return { privatePem: toPem(SIGSTORE_KEY_LABEL, await encryptCosignKey(der, password)), publicPem };
  }
  const privatePem =
    password === ''
      ? privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      : privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }).toString();
  return { privatePem, publicPem };
}
