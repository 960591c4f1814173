import { signatureRepositoryFrom, verificationError, verifyImage, publicKeyFromFile } from '../../sign/index.js';
import { defineCommand } from '../command.js';
import { parseRegistryReference, registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';
import { withRegistries } from '../../registry/pool.js';
import { annotationsOf, listOf } from '../sign-flags.js';
import { UsageError } from '../../errors.js';
import type { Reference } from '../../oci/reference.js';
import { ATTESTATION_TYPES } from '../../sign/provenance-statement.js';
import { attestationError, parseRequirements, verifyAttestations } from '../../sign/verify-attestation.js';
import type { GlobalArgs } from '../command.js';
import type { CliIO } from '../io.js';

interface VerifyArgs extends RegistryArgs {
  image: string;
  key: string;
  annotation?: string | string[];
  attestation?: string;
  require?: string | string[];
}

export const verifyCommand = defineCommand<VerifyArgs>({
  command: 'verify <image>',
  describe: "Check an image's cosign signatures (or, with --attestation, its signed attestations) against a public key; exit 0 only when one verifies",
  builder: (y) =>
    registryFlags(
      y
        .positional('image', { type: 'string', demandOption: true, describe: 'registry/repo:tag or registry/repo@digest' })
        .option('key', { type: 'string', demandOption: true, describe: 'the public key (cosign.pub: PKIX PEM, ECDSA P-256)' })
        .option('annotation', { alias: 'a', type: 'string', array: true, nargs: 1, describe: "KEY=VALUE the payload's optional section must hold; repeatable" })
        .option('attestation', { type: 'string', describe: `verify an attestation (the .att tag's DSSE envelopes) instead of a signature: ${Object.keys(ATTESTATION_TYPES).join(' or ')}` })
        .option('require', { type: 'string', array: true, nargs: 1, describe: 'with --attestation: KEY=VALUE the statement must hold (builder.id, buildType, commit, clean, dockerfile, target, or a dotted path such as predicate.runDetails.builder.id); repeatable' }),
    ) as never,
  async handler(args, io) {
    const ref = parseRegistryReference(args.image, 'image');
    if (args.attestation !== undefined || args.require !== undefined) return verifyAttestationHandler(args, io, ref);
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

/** `berth verify --attestation TYPE --key K [--require K=V]... REF`. */
async function verifyAttestationHandler(args: VerifyArgs & GlobalArgs, io: CliIO, ref: Reference): Promise<void> {
  if (args.attestation === undefined) throw new UsageError('BAD_FLAG', '--require checks an attestation: give --attestation slsaprovenance');
  const predicateType = ATTESTATION_TYPES[args.attestation] ?? (/^https?:\/\//.test(args.attestation) ? args.attestation : undefined);
  if (predicateType === undefined) throw new UsageError('BAD_FLAG', `--attestation: "${args.attestation}" is not a known type (${Object.keys(ATTESTATION_TYPES).join(', ')}, or a predicate type URI)`);
  if (args.annotation !== undefined) throw new UsageError('BAD_FLAG', '-a/--annotation checks a signature payload; with --attestation, use --require');
  const require = parseRequirements(listOf(args.require));
  const key = await publicKeyFromFile(args.key, { cwd: io.cwd });
  const v = await withRegistries(await registryOptions(args, io), (registries) => verifyAttestations(registries, ref, key, { predicateType, require }));
  if (v.verified.length === 0) throw attestationError(v, args.key);
  const checks = ["the envelope's signature verifies with the key", `the statement is ${predicateType}`, "the image's digest is among its subjects", ...require.map(([k, val]) => `${k}=${val}`)];
  io.stderr.write(`berth: ${v.reference}: ${v.verified.length} attestation${v.verified.length === 1 ? '' : 's'} verified with ${args.key} (${v.attestationTag})\n`);
  io.stderr.write(`berth: checked: ${checks.join('; ')}\n`);
  if (args.json) io.stdout.write(`${JSON.stringify(v.verified.length === 1 ? v.verified[0]!.statement : v.verified.map((x) => x.statement), null, 2)}\n`);
  else io.stdout.write(v.verified.map((x) => `${JSON.stringify(x.statement)}\n`).join(''));
}
