/**
 * `berth release --sign --provenance` into docker-registry 2.8 (no referrers API), read back as
 * a user's tools read it: `skopeo inspect --raw` of the `.att` manifest and of the referrers
 * index, the DSSE signature checked by hand (PAE built here, `openssl dgst -verify`), and the
 * statement checked against the in-toto Statement v1 and SLSA provenance v1 schemas.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { validate, type Schema } from '../helpers/json-schema.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';
import { testEnv } from '../registry/fixtures.js';
import { archTarball, PLATFORMS } from '../release/fixtures.js';
import { getBlob, getManifest, ok, pushImage } from './helpers.js';
import { attestTargets } from '../../src/sign/attest.js';
import { cosignKeySigner } from '../../src/sign/cosign-signer.js';
import { loadPrivateKey } from '../../src/sign/keys.js';
import { Registries } from '../../src/registry/pool.js';
import type { Digest } from '../../src/oci/digest.js';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
let key: string;
let components: string[];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-provenance-'));
  reg = await startRegistry();
  env = testEnv(dir, { COSIGN_PASSWORD: 'pw' });
  key = join(dir, 'release');
  await ok(['keygen', '--output-key-prefix', key], env);
  const two = PLATFORMS.slice(0, 2);
  await Promise.all(['controller', 'webhook'].flatMap((c) => two.map((p) => archTarball(dir, c, p))));
  components = ['controller', 'webhook'].map((c) => `${c}=${join(dir, `${c}-*.tar`)}`);
});
afterAll(async () => {
  await reg.stop();
  await cleanup();
});

const flags = (registry: string, tag: string) => [...components.flatMap((c) => ['--component', c]), '--registry', registry, '--tag', tag];
const inspectRaw = async (ref: string) => JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]));
const hexOf = (d: string) => d.slice('sha256:'.length);

/** The in-toto Statement v1 (in-toto/attestation spec/v1/statement.md, resource_descriptor.md), as JSON Schema. */
const STATEMENT_V1: Schema = {
  type: 'object',
  required: ['_type', 'subject', 'predicateType', 'predicate'],
  additionalProperties: false,
  properties: {
    _type: { type: 'string', const: 'https://in-toto.io/Statement/v1' },
    subject: { type: 'array', minItems: 1, items: { $ref: '#/definitions/Subject' } },
    predicateType: { type: 'string', pattern: '^https?://' },
    predicate: { type: 'object' },
  },
  definitions: {
    Subject: { type: 'object', required: ['name', 'digest'], properties: { name: { type: 'string', minLength: 1 }, digest: { $ref: '#/definitions/DigestSet' } } },
    DigestSet: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9a-f]+$' } },
  },
};

/** SLSA provenance v1 (slsa.dev/spec/v1.0/provenance, schema/provenance.cue), as JSON Schema. */
const SLSA_V1: Schema = {
  type: 'object',
  required: ['buildDefinition', 'runDetails'],
  additionalProperties: false,
  properties: {
    buildDefinition: {
      type: 'object',
      required: ['buildType', 'externalParameters'],
      additionalProperties: false,
      properties: {
        buildType: { type: 'string', pattern: '^https?://' },
        externalParameters: { type: 'object' },
        internalParameters: { type: 'object' },
        resolvedDependencies: { type: 'array', items: { $ref: '#/definitions/ResourceDescriptor' } },
      },
    },
    runDetails: {
      type: 'object',
      required: ['builder'],
      additionalProperties: false,
      properties: {
        builder: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: '^https?://' }, version: { type: 'object', additionalProperties: { type: 'string' } }, builderDependencies: { type: 'array', items: { $ref: '#/definitions/ResourceDescriptor' } } },
        },
        metadata: {
          type: 'object',
          additionalProperties: false,
          properties: { invocationId: { type: 'string' }, startedOn: { $ref: '#/definitions/Timestamp' }, finishedOn: { $ref: '#/definitions/Timestamp' } },
        },
        byproducts: { type: 'array', items: { $ref: '#/definitions/ResourceDescriptor' } },
      },
    },
  },
  definitions: {
    ResourceDescriptor: {
      type: 'object',
      additionalProperties: false,
      properties: {
        uri: { type: 'string' },
        digest: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9a-f]+$' } },
        name: { type: 'string' },
        downloadLocation: { type: 'string' },
        mediaType: { type: 'string' },
        content: { type: 'string' },
        annotations: { type: 'object' },
      },
    },
    Timestamp: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$' },
  },
};

/** Checks the envelope's signatures without berth: PAE built here, `openssl dgst -sha256 -verify` over it. */
async function opensslVerifies(envelope: { payloadType: string; payload: string; signatures: { sig: string }[] }, pub: string, name: string): Promise<boolean> {
  const body = Buffer.from(envelope.payload, 'base64');
  const type = Buffer.from(envelope.payloadType);
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
  await writeFile(join(dir, `${name}.pae`), pae);
  await writeFile(join(dir, `${name}.sig`), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
  const out = await run('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(dir, `${name}.sig`), join(dir, `${name}.pae`)]).catch((e: Error) => e.message);
  return out.includes('Verified OK');
}

interface Result {
  components: { name: string; digest: string; platforms: { digest: string; sourceDigest: string }[]; attestations: { reference: string; attestationTag: string; attestationManifest: string; referrer: string; referrers: string; signers: string[] }[] }[];
}

describe('berth release --sign --provenance', () => {
  test('attaches a signed SLSA statement as the .att tag and as a referrer in the tag schema index', async () => {
    const summary = join(dir, 'step-summary.md');
    const r = await ok(['release', ...flags(`${reg.host}/att`, 'v1'), '--sign', '--provenance', '--key', `${key}.key`, '--json'], { ...env, GITHUB_STEP_SUMMARY: summary });
    const result = JSON.parse(r.stdout) as Result;
    // The GitHub summary names each image's signers and attestations.
    const md = await readFile(summary, 'utf8');
    for (const c of result.components) {
      expect(md).toContain(`| ${c.name} | \`${reg.host}/att/${c.name}@${c.digest}\` | ${key}.key (cosign-key) | SLSA provenance by ${key}.key: \`${reg.host}/att/${c.name}:sha256-${hexOf(c.digest)}.att\` |`);
    }
    for (const c of result.components) {
      const repo = `${reg.host}/att/${c.name}`;
      expect(c.attestations).toHaveLength(1);
      const a = c.attestations[0]!;
      expect(a.attestationTag).toBe(`${repo}:sha256-${hexOf(c.digest)}.att`);
      expect(a.referrers).toBe(`${repo}:sha256-${hexOf(c.digest)}`);
      expect(r.stderr).toContain(`berth: attested ${repo}@${c.digest}: SLSA provenance signed by ${key}.key -> ${a.attestationTag}`);

      // cosign's .att manifest, as skopeo reads it.
      const att = await inspectRaw(a.attestationTag);
      expect(att.layers).toHaveLength(1);
      expect(att.layers[0].mediaType).toBe('application/vnd.dsse.envelope.v1+json');
      expect(att.layers[0].annotations).toEqual({ 'dev.cosignproject.cosign/signature': '', predicateType: 'https://slsa.dev/provenance/v1' });
      const envelope = JSON.parse((await getBlob(reg.host, `att/${c.name}`, att.layers[0].digest)).toString('utf8'));
      expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
      expect(await opensslVerifies(envelope, `${key}.pub`, c.name)).toBe(true);

      // The statement: the index and every platform image are its subjects; the schemas hold.
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      expect(validate(statement, STATEMENT_V1)).toEqual([]);
      expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
      expect(validate(statement.predicate, SLSA_V1)).toEqual([]);
      expect(statement.subject).toEqual([c.digest, ...c.platforms.map((p) => p.digest)].map((d) => ({ name: repo, digest: { sha256: hexOf(d) } })));
      const deps = statement.predicate.buildDefinition.resolvedDependencies as { uri: string; digest: Record<string, string> }[];
      // Each source tarball by the digest of the image it holds.
      for (const p of c.platforms) expect(deps).toContainEqual({ uri: expect.stringMatching(new RegExp(`^file:.*${c.name}-(amd64|arm64)\\.tar$`)), digest: { sha256: hexOf(p.sourceDigest) }, name: 'image' });
      expect(statement.predicate.runDetails.builder.version.berth).toMatch(/^\d+\.\d+\.\d+/);

      // The OCI referrer in the referrers tag schema's index, as skopeo reads them.
      const index = await inspectRaw(a.referrers);
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(index.manifests).toEqual([{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: a.referrer.split('@')[1], size: expect.any(Number), artifactType: 'application/vnd.in-toto+json', annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' } }]);
      const referrer = await inspectRaw(a.referrer);
      expect(referrer.subject).toEqual({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: c.digest, size: expect.any(Number) });
      expect(referrer.artifactType).toBe('application/vnd.in-toto+json');
      expect(referrer.config).toEqual({ mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 });
      // The empty config is in every repository (uploaded into the first, mounted into the others).
      expect((await getBlob(reg.host, `att/${c.name}`, referrer.config.digest)).toString('utf8')).toBe('{}');
      expect(referrer.layers.map((l: { digest: string }) => l.digest)).toEqual([att.layers[0].digest]);
    }
  });

  test('a re-run gives the same statement and adds nothing: the .att manifest and the index stay', async () => {
    const first = JSON.parse((await ok(['release', ...flags(`${reg.host}/again`, 'v1'), '--provenance', '--key', `${key}.key`, '--json'], env)).stdout) as Result;
    for (let i = 0; i < 2; i++) {
      const again = JSON.parse((await ok(['release', ...flags(`${reg.host}/again`, 'v1'), '--provenance', '--key', `${key}.key`, '--json'], env)).stdout) as Result;
      for (const [j, c] of again.components.entries()) {
        const a = c.attestations[0]!;
        const before = first.components[j]!.attestations[0]!;
        expect(a.referrer).toBe(before.referrer);
        expect(a.attestationManifest).toBe(before.attestationManifest);
        expect((await inspectRaw(a.referrers)).manifests).toHaveLength(1);
      }
    }
  });

  test('--recursive attaches each platform image its own statement, whose one subject is that image', async () => {
    const result = JSON.parse((await ok(['release', ...flags(`${reg.host}/rec`, 'v1'), '--provenance', '--recursive', '--key', `${key}.key`, '--json'], env)).stdout) as Result;
    for (const c of result.components) {
      expect(c.attestations.map((a) => a.reference)).toEqual([c.digest, ...c.platforms.map((p) => p.digest)].map((d) => `${reg.host}/rec/${c.name}@${d}`));
      for (const p of c.platforms) {
        const att = await inspectRaw(`${reg.host}/rec/${c.name}:sha256-${hexOf(p.digest)}.att`);
        const envelope = JSON.parse((await getBlob(reg.host, `rec/${c.name}`, att.layers[0].digest)).toString('utf8'));
        const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
        expect(statement.subject).toEqual([{ name: `${reg.host}/rec/${c.name}`, digest: { sha256: hexOf(p.digest) } }]);
      }
    }
  });

  test('two statements about one image at once (two predicate types): the .att manifest and the referrers index keep both', async () => {
    const repo = 'two/app';
    const digest = (await pushImage(dir, `${reg.host}/${repo}:v1`, env, 'two')) as Digest;
    const m = await getManifest(reg.host, repo, digest);
    const signer = cosignKeySigner('k', await loadPrivateKey(await readFile(`${key}.key`, 'utf8'), { password: 'pw', where: 'k' }));
    const registries = new Registries({ env });
    try {
      const target = (predicateType: string) => ({ registry: reg.host, repository: repo, digest, mediaType: m.mediaType.split(';')[0]!, size: m.raw.length, predicateType, statement: Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: `${reg.host}/${repo}`, digest: { sha256: hexOf(digest) } }], predicateType, predicate: {} })) });
      const done = await attestTargets(registries, [target('https://example.com/a/v1'), target('https://example.com/b/v1')], [signer]);
      expect(done).toHaveLength(2);
    } finally {
      registries.close();
    }
    const att = await inspectRaw(`${reg.host}/${repo}:sha256-${hexOf(digest)}.att`);
    expect(att.layers.map((l: { annotations: Record<string, string> }) => l.annotations.predicateType).sort()).toEqual(['https://example.com/a/v1', 'https://example.com/b/v1']);
    const index = await inspectRaw(`${reg.host}/${repo}:sha256-${hexOf(digest)}`);
    expect(index.manifests.map((d: { annotations: Record<string, string> }) => d.annotations['in-toto.io/predicate-type']).sort()).toEqual(['https://example.com/a/v1', 'https://example.com/b/v1']);
  });

  test('bad input: --provenance into a layout, with no key signer: exit 2, one line, nothing published', async () => {
    const layout = await berth(['release', ...components.flatMap((c) => ['--component', c]), '--tag', 'v1', '--output', `oci:${join(dir, 'layout')}`, '--provenance', '--key', `${key}.key`], { env });
    expect(layout.code).toBe(2);
    expect(layout.stderr.trim().split('\n')).toEqual(['berth: --provenance: signatures and attestations are stored in a registry; publish to one (--registry, or registries: in release.yaml)']);
    const noKey = await berth(['release', ...flags(`${reg.host}/nokey`, 'v1'), '--provenance'], { env, cwd: dir });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(noKey.stderr).toContain('--provenance: nothing to sign with: berth.yaml names no signers');
    const tags = await fetch(`http://${reg.host}/v2/nokey/controller/tags/list`);
    expect(tags.status).toBe(404);
  });

  test('berth verify --attestation checks the signature, the subject and --require; --json prints the statement', async () => {
    const result = JSON.parse((await ok(['release', ...flags(`${reg.host}/ver`, 'v1'), '--provenance', '--recursive', '--key', `${key}.key`, '--json'], env)).stdout) as Result;
    const c = result.components[0]!;
    const repo = `${reg.host}/ver/${c.name}`;
    const v = await ok(['verify', '--attestation', 'slsaprovenance', '--key', `${key}.pub`, `${repo}:v1`, '--require', 'builder.id=https://berth.dev/builder/v1', '--json'], env);
    const statement = JSON.parse(v.stdout);
    expect(statement.subject[0]).toEqual({ name: repo, digest: { sha256: hexOf(c.digest) } });
    expect(v.stderr).toContain(`berth: ${repo}@${c.digest}: 1 attestation verified with ${key}.pub`);
    // A platform image verifies by its own (with --recursive).
    await ok(['verify', '--attestation', 'slsaprovenance', '--key', `${key}.pub`, `${repo}@${c.platforms[0]!.digest}`], env);

    // A --require that does not hold: exit 2, one line naming what the statement says.
    const wrong = await berth(['verify', '--attestation', 'slsaprovenance', '--key', `${key}.pub`, `${repo}:v1`, '--require', 'builder.id=https://example.com/other'], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toContain('(require) builder.id is "https://berth.dev/builder/v1", not "https://example.com/other"');

    // Another key: exit 1.
    await ok(['keygen', '--output-key-prefix', join(dir, 'other')], env);
    const other = await berth(['verify', '--attestation', 'slsaprovenance', '--key', join(dir, 'other.pub'), `${repo}:v1`], { env });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('(signature) no signature of the envelope verifies with the key');

    // An attestation whose subject is another image (one platform's .att put under the other's tag): exit 2.
    const [a, b] = c.platforms.map((p) => p.digest);
    const att = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${repo}:sha256-${hexOf(a!)}.att`]);
    const put = await fetch(`http://${reg.host}/v2/ver/${c.name}/manifests/sha256-${hexOf(b!)}.att`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: att });
    expect(put.status).toBe(201);
    const moved = await berth(['verify', '--attestation', 'slsaprovenance', '--key', `${key}.pub`, `${repo}@${b}`], { env });
    expect(moved.code).toBe(2);
    expect(moved.stderr.trim().split('\n')).toHaveLength(1);
    expect(moved.stderr).toContain(`(subject) its subjects (${a}) do not include this image's ${b}`);

    // Bad flags.
    for (const [argv, msg] of [
      [['--attestation', 'sbom'], '--attestation: "sbom" is not a known type'],
      [['--attestation', 'slsaprovenance', '--require', 'novalue'], '--require: "novalue" is not KEY=VALUE'],
      [['--require', 'commit=abc'], '--require checks an attestation: give --attestation slsaprovenance'],
    ] as const) {
      const r = await berth(['verify', '--key', `${key}.pub`, `${repo}:v1`, ...argv], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });

  test('berth inspect --attestations lists the signatures, the attestations and the referrers', async () => {
    const result = JSON.parse((await ok(['release', ...flags(`${reg.host}/insp`, 'v1'), '--sign', '--provenance', '--key', `${key}.key`, '--json'], env)).stdout) as Result;
    const c = result.components[0]!;
    const repo = `${reg.host}/insp/${c.name}`;
    const r = await ok(['inspect', '--attestations', `${repo}:v1`], env);
    expect(r.stdout).toContain(`signatures    ${repo}:sha256-${hexOf(c.digest)}.sig (1)`);
    expect(r.stdout).toContain(`attestations  ${repo}:sha256-${hexOf(c.digest)}.att\n  https://slsa.dev/provenance/v1  sha256:`);
    expect(r.stdout).toContain(`referrers     ${repo}:sha256-${hexOf(c.digest)} (referrers tag schema)\n  application/vnd.in-toto+json https://slsa.dev/provenance/v1  ${c.attestations[0]!.referrer.split('@')[1]}`);
    const j = JSON.parse((await ok(['inspect', '--attestations', `${repo}:v1`, '--json'], env)).stdout);
    expect(j.digest).toBe(c.digest);
    const plain = JSON.parse((await ok(['inspect', '--attestations', `${repo}@${c.platforms[0]!.digest}`, '--json'], env)).stdout);
    expect(plain).toMatchObject({ digest: c.platforms[0]!.digest });
    expect(plain.attestations).toBeUndefined();
  });

  test('berth build --provenance facts flow into the statement: Dockerfile, arguments but secrets, the base by digest, the commit', async () => {
    const project = join(dir, 'proj');
    await run('mkdir', ['-p', join(project, 'images', 'app')]);
    const baseDigest = (await ok(['push', join(dir, 'controller-amd64.tar'), `${reg.host}/bases/hello:v1`, '--quiet'], env)).stdout.trim();
    await writeFile(join(project, 'images', 'app', 'Dockerfile'), `FROM ${reg.host}/bases/hello:v1\nARG FLAVOR\nCOPY motd /etc/motd\n`);
    await writeFile(join(project, 'images', 'app', 'motd'), 'hi\n');
    const git = (...a: string[]) => run('git', ['-C', project, ...a]);
    await git('init', '-q');
    await git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'add', '.');
    await git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'app');
    const sha = (await git('rev-parse', 'HEAD')).trim();
    const tar = join(dir, 'app.tar');
    const built = await berth(['build', '--dockerfile', 'images/app/Dockerfile', '--platform', 'linux/amd64', '--build-arg', 'FLAVOR=mint', '--build-arg', 'NPM_TOKEN=hush-42', '--provenance', '--output', tar], { env, cwd: project });
    expect(built.code).toBe(0);
    expect(built.stderr).toContain(`berth: build facts for provenance -> ${tar}.provenance.json`);
    const rel = JSON.parse((await ok(['release', '--component', `app=${tar}`, '--registry', `${reg.host}/built`, '--tag', 'v1', '--provenance', '--key', `${key}.key`, '--json'], env, project)).stdout) as Result;
    const repo = `${reg.host}/built/app`;
    const v = await ok(['verify', '--attestation', 'slsaprovenance', '--key', `${key}.pub`, `${repo}:v1`, '--require', `commit=${sha}`, '--require', 'clean=true', '--require', 'dockerfile=images/app/Dockerfile', '--json'], env);
    const statement = JSON.parse(v.stdout);
    expect(validate(statement, STATEMENT_V1)).toEqual([]);
    expect(validate(statement.predicate, SLSA_V1)).toEqual([]);
    expect(statement.predicate.buildDefinition.externalParameters).toEqual({ dockerfile: 'images/app/Dockerfile', platforms: ['linux/amd64'], buildArgs: { FLAVOR: 'mint' } });
    expect(JSON.stringify(statement)).not.toContain('hush-42');
    expect(JSON.stringify(statement)).not.toContain('NPM_TOKEN');
    expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual({ uri: `docker-image://${reg.host}/bases/hello:v1`, digest: { sha256: hexOf(baseDigest) }, name: 'base' });
    expect(statement.predicate.runDetails.builder.version.engine).toBe('native');
    expect(statement.predicate.runDetails.metadata.startedOn).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(rel.components[0]!.attestations).toHaveLength(1);
    // Built again: the same statement apart from its times.
    await ok(['build', '--dockerfile', 'images/app/Dockerfile', '--platform', 'linux/amd64', '--build-arg', 'FLAVOR=mint', '--build-arg', 'NPM_TOKEN=hush-42', '--provenance', '--output', tar], env, project);
    await ok(['release', '--component', `app=${tar}`, '--registry', `${reg.host}/built`, '--tag', 'v1', '--provenance', '--key', `${key}.key`], env, project);
    const again = JSON.parse((await ok(['verify', '--attestation', 'slsaprovenance', '--key', `${key}.pub`, `${repo}:v1`, '--json'], env)).stdout);
    const timeless = (s: { predicate: { runDetails: { metadata?: unknown } } }) => ({ ...s, predicate: { ...s.predicate, runDetails: { ...s.predicate.runDetails, metadata: undefined } } });
    expect(timeless(again)).toEqual(timeless(statement));
  });
});
