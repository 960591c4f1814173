import { UsageError } from '../../errors.js';
import { signatureRepositoryFrom, signImages } from '../../sign/index.js';
import { defineCommand } from '../command.js';
import { parseRegistryReference, transferFlags, withTransfer, type TransferArgs } from '../registry-flags.js';
import { annotationsOf, chooseSigners, signatureSummary, signerFlags, type SignerArgs } from '../sign-flags.js';

interface SignArgs extends TransferArgs, SignerArgs {
  images: string[];
  recursive: boolean;
  annotation?: string | string[];
  config?: string;
}

export const signCommand = defineCommand<SignArgs>({
  command: 'sign <images..>',
  describe: "Sign images in a registry, cosign's way (a simple-signing payload in the sha256-<hex>.sig manifest)",
  builder: (y) =>
    signerFlags(
      transferFlags(
        y
          .positional('images', { type: 'string', array: true, default: undefined, describe: 'registry/repo:tag or registry/repo@digest (tags are resolved to digests)' })
          .option('recursive', { type: 'boolean', default: false, describe: 'sign every image an index lists too' })
          .option('annotation', { alias: 'a', type: 'string', array: true, nargs: 1, describe: "KEY=VALUE put in the payload's optional section; repeatable" })
          .option('config', { type: 'string', describe: 'berth.yaml with the signing: section (default ./berth.yaml), used when no --key is given' }),
      ),
    ) as never,
  async handler(args, io) {
    if (args.images.length === 0) throw new UsageError('BAD_FLAG', 'name at least one image to sign');
    const refs = args.images.map((i) => parseRegistryReference(i, 'image'));
    const annotations = annotationsOf(args.annotation);
    const signatureRepository = signatureRepositoryFrom(io.env);
    const { signers, none, pullRequest } = await chooseSigners(args, io, args.config);
    if (signers.length === 0) {
      if (pullRequest) {
        io.stderr.write(`berth: not signing: ${none}\n`);
        if (args.json) io.stdout.write('[]\n');
        return;
      }
      throw new UsageError('BAD_FLAG', `nothing to sign with: ${none}; or pass --key cosign.key`);
    }
    const results = await withTransfer({ ...args, quiet: true }, io, 'signing', (registries) =>
      signImages(registries, refs, signers, { annotations, recursive: args.recursive, ...(signatureRepository ? { signatureRepository } : {}) }),
    );
    if (results.every((r) => r.signatures.every((s) => s.status === 'skipped'))) {
      const why = [...new Set(results.flatMap((r) => r.signatures.map((s) => `${s.signer}: ${s.reason}`)))];
      throw new UsageError('BAD_FLAG', `nothing was signed: ${why.join('; ')}`);
    }
    for (const r of results) io.stderr.write(`berth: ${r.reference}: ${signatureSummary(r)}\n`);
    if (args.json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else io.stdout.write(results.map((r) => `${r.reference}\n`).join(''));
  },
});
