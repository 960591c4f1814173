import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { KEY_FILE_FORMATS, writeKeyPair, type KeyFileFormat } from '../../sign/index.js';
import { defineCommand } from '../command.js';

interface KeygenArgs {
  'output-key-prefix': string;
  format: string;
  force: boolean;
}

export const keygenCommand = defineCommand<KeygenArgs>({
  command: 'keygen',
  describe: 'Make an ECDSA P-256 key pair for berth sign and cosign: PREFIX.key (encrypted with COSIGN_PASSWORD) and PREFIX.pub',
  builder: (y) =>
    y
      .option('output-key-prefix', { type: 'string', default: 'cosign', describe: 'write PREFIX.key and PREFIX.pub' })
      .option('format', { type: 'string', default: 'cosign', describe: "the private key file: cosign (cosign's ENCRYPTED SIGSTORE PRIVATE KEY, which cosign reads) or pkcs8 (PEM; ENCRYPTED PRIVATE KEY unless the password is empty)" })
      .option('force', { type: 'boolean', default: false, describe: 'replace existing files' }) as never,
  async handler(args, io) {
    if (!(KEY_FILE_FORMATS as readonly string[]).includes(args.format)) throw new UsageError('BAD_FLAG', `--format: "${args.format}" is not one of ${KEY_FILE_FORMATS.join(', ')}`);
    const prefix = args['output-key-prefix'];
    if (prefix === '') throw new UsageError('BAD_FLAG', '--output-key-prefix: empty');
    const password = io.env.COSIGN_PASSWORD;
    if (password === undefined) throw new UsageError('BAD_FLAG', 'set COSIGN_PASSWORD to the password for the new key (it may be empty: COSIGN_PASSWORD=)');
    const files = { privateKey: resolve(io.cwd, `${prefix}.key`), publicKey: resolve(io.cwd, `${prefix}.pub`) };
    await writeKeyPair(files, { password, format: args.format as KeyFileFormat, force: args.force });
    io.stderr.write(`berth: private key written to ${prefix}.key (${args.format === 'cosign' ? 'cosign format' : 'PKCS#8 PEM'}${password === '' ? ', empty password' : ', encrypted with COSIGN_PASSWORD'}), public key to ${prefix}.pub\n`);
    if (args.json) io.stdout.write(`${JSON.stringify({ privateKey: `${prefix}.key`, publicKey: `${prefix}.pub`, format: args.format, type: 'ecdsa-p256' }, null, 2)}\n`);
  },
});
