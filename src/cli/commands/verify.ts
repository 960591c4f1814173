import { signatureRepositoryFrom, verificationError, verifyImage, publicKeyFromFile } from '../../sign/index.js';
import { defineCommand } from '../command.js';
import { parseRegistryReference, registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';
import { withRegistries } from '../../registry/pool.js';
import { annotationsOf } from '../sign-flags.js';

interface VerifyArgs extends RegistryArgs {
  image: string;
  key: string;
  annotation?: string | string[];
}

export const verifyCommand = defineCommand<VerifyArgs>({
  command: 'verify <image>',
  describe: "Check an image's cosign signatures against a public key; exit 0 only when one verifies",
  builder: (y) =>
    registryFlags(
      y
        .positional('image', { type: 'string', demandOption: true, describe: 'registry/repo:tag or registry/repo@digest' })
        .option('key', { type: 'string', demandOption: true, describe: 'the public key (cosign.pub: PKIX PEM, ECDSA P-256)' })
        .option('annotation', { alias: 'a', type: 'string', array: true, nargs: 1, describe: "KEY=VALUE the payload's optional section must hold; repeatable" }),
    ) as never,
  async handler(args, io) {
    const ref = parseRegistryReference(args.image, 'image');
    const annotations = annotationsOf(args.annotation);
    const key = await publicKeyFromFile(args.key, { cwd: io.cwd });
    const signatureRepository = signatureRepositoryFrom(io.env);
    const result = await withRegistries(await registryOptions(args, io), (registries) => verifyImage(registries, ref, key, { annotations, ...(signatureRepository ? { signatureRepository } : {}) }));
    if (result.verified.length === 0) throw verificationError(result, args.key);
    const others = result.rejected.length ? ` (${result.rejected.length} other signature${result.rejected.length === 1 ? '' : 's'} not verified: ${[...new Set(result.rejected.map((r) => r.check))].join(', ')})` : '';
    const checks = ['the payload matches its layer digest', 'the signature verifies with the key', "docker-manifest-digest is the image's digest", ...(Object.keys(annotations).length ? ['the annotations match'] : [])];
    io.stderr.write(`berth: ${result.reference}: ${result.verified.length} signature${result.verified.length === 1 ? '' : 's'} verified with ${args.key}${others}\n`);
    io.stderr.write(`berth: checked: ${checks.join('; ')}\n`);
    if (args.json) {
      const out = { ...result, verified: result.verified.map((v) => ({ layer: v.layer, payload: JSON.parse(v.text) as unknown })) };
      io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      io.stdout.write(result.verified.map((v) => `${v.text}\n`).join(''));
    }
  },
});
