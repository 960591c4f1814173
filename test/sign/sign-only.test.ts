/**
 * kyma's sign-only mode: images pushed by another command (another job), then signed by
 * `berth sign --config berth.yaml REF...` with the notary signers berth.yaml enables for '*'
 * and for the build's org/repo, against local HTTPS signing services (a client certificate
 * for one, a token for the other).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { startNotary, type NotaryService } from '../helpers/notary.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { testEnv } from '../registry/fixtures.js';
import { getManifest, ok, pushImage } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
let signify: NotaryService;
let repoNotary: NotaryService;
let project: string;
const digests: Record<string, string> = {};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-sign-only-'));
  reg = await startRegistry();
  env = testEnv(dir, {});
  await mkdir(join(dir, 'a'));
  await mkdir(join(dir, 'b'));
  signify = await startNotary(join(dir, 'a'));
  repoNotary = await startNotary(join(dir, 'b'), 'tok-Zq81x');
  project = join(dir, 'project');
  await mkdir(project);
  // kyma's sign-config: default-signify for every repository, repo-token-notary for one.
  await writeFile(
    join(project, 'berth.yaml'),
    [
      'signing:',
      '  enabled-signers:',
      "    '*': [default-signify]",
      '    kyma-project/test-infra: [repo-token-notary]',
      '  signers:',
      '    - name: default-signify',
      '      type: notary',
      `      endpoint: ${signify.url}`,
      `      secret: ${signify.secretFile}`,
      `      ca: ${signify.ca}`,
      '      timeout: 60',
      '      retry-timeout: 10',
      '    - name: repo-token-notary',
      '      type: notary',
      `      endpoint: ${repoNotary.url}`,
      '      token-env: NOTARY_TOKEN',
      `      ca: ${repoNotary.ca}`,
      '',
    ].join('\n'),
  );
  // Pushed by another command, as kyma's build job does before its signing job.
  for (const name of ['app', 'tool']) digests[name] = await pushImage(dir, `${reg.host}/prod/${name}:v1.2.3`, env, name);
});
afterAll(async () => {
  await signify.close();
  await repoNotary.close();
  await reg.stop();
  await cleanup();
});

const signEnv = (over: NodeJS.ProcessEnv = {}) => ({ ...env, JOB_TYPE: 'postsubmit', NOTARY_TOKEN: 'tok-Zq81x', ...over });
const collection = (name: string, tag = 'v1.2.3') => ({ gun: `${reg.host}/prod/${name}`, targets: [{ name: tag, byteSize: expect.any(Number), digest: digests[name]!.slice(7) }] });

describe('berth sign --config berth.yaml with notary signers (kyma sign-only)', () => {
  test("the '*' signer and the org/repo signer each get every image's tag; three runs, same requests", async () => {
    for (let run = 0; run < 3; run++) {
      signify.seen.length = 0;
      repoNotary.seen.length = 0;
      const r = await berth(['sign', '--config', 'berth.yaml', `${reg.host}/prod/app:v1.2.3`, `${reg.host}/prod/tool:v1.2.3`], { env: signEnv({ REPO_OWNER: 'kyma-project', REPO_NAME: 'test-infra' }), cwd: project });
      expect(r.stderr).not.toContain('tok-Zq81x');
      expect(r.stderr).not.toContain('undefined');
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([`${reg.host}/prod/app@${digests.app}`, `${reg.host}/prod/tool@${digests.tool}`]);
      expect(r.stderr).toContain(`berth: ${reg.host}/prod/app@${digests.app}: signed by default-signify -> ${new URL(signify.url).origin}, repo-token-notary -> ${new URL(repoNotary.url).origin}`);
      expect(signify.seen).toHaveLength(1);
      expect(signify.seen[0]!.clientCN).toBe('berth-ci');
      expect(JSON.parse(signify.seen[0]!.body)).toEqual({ trustedCollections: [collection('app'), collection('tool')] });
      expect(repoNotary.seen.map((s) => s.auth)).toEqual(['Bearer tok-Zq81x']);
      expect(JSON.parse(repoNotary.seen[0]!.body)).toEqual(JSON.parse(signify.seen[0]!.body));
    }
    // The byteSize is the manifest's, as the registry stores it.
    const m = await getManifest(reg.host, 'prod/app', 'v1.2.3');
    expect(JSON.parse(signify.seen[0]!.body).trustedCollections[0].targets[0].byteSize).toBe(m.raw.length);
  });

  test("another repository gets the '*' signer only; --repo chooses as REPO_OWNER/REPO_NAME do", async () => {
    signify.seen.length = 0;
    repoNotary.seen.length = 0;
    await ok(['sign', '--config', 'berth.yaml', '--repo', 'kyma-project/other', `${reg.host}/prod/app:v1.2.3`], signEnv(), project);
    expect(signify.seen).toHaveLength(1);
    expect(repoNotary.seen).toHaveLength(0);
  });

  test('a refusing service: exit 1, one line with its status and answer, no secret, nothing "undefined"', async () => {
    repoNotary.answers.push(400);
    const r = await berth(['sign', '--config', 'berth.yaml', '--repo', 'kyma-project/test-infra', `${reg.host}/prod/app:v1.2.3`], { env: signEnv(), cwd: project });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`berth: signer repo-token-notary: ${new URL(repoNotary.url).origin} answered 400 ({"error":"status 400"})`);
    expect(r.stderr).not.toContain('tok-Zq81x');
  });

  test('a service that fails for a while is retried with --retries; --retries 0 gives up at once', async () => {
    signify.seen.length = 0;
    signify.answers.push(503, 503);
    await ok(['sign', '--config', 'berth.yaml', `${reg.host}/prod/tool:v1.2.3`], signEnv(), project);
    expect(signify.seen).toHaveLength(3);
    signify.seen.length = 0;
    signify.answers.push(503);
    const r = await berth(['sign', '--config', 'berth.yaml', '--retries', '0', `${reg.host}/prod/tool:v1.2.3`], { env: signEnv(), cwd: project });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^berth: signer default-signify: gave up after 1 try: https:\/\/127\.0\.0\.1:\d+ answered 503 \(\{"error":"status 503"\}\)$/);
    expect(signify.seen).toHaveLength(1);
  });

  test('an image named by digest only cannot be signed by a notary service: exit 2, one line', async () => {
    signify.seen.length = 0;
    const r = await berth(['sign', '--config', 'berth.yaml', `${reg.host}/prod/app@${digests.app}`], { env: signEnv(), cwd: project });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`berth: nothing was signed: default-signify: a notary service signs tags; this image is named by digest only (name ${reg.host}/prod/app by a tag)`]);
    expect(signify.seen).toHaveLength(0);
  });

  test('no signer for this run names each signer and why none applies', async () => {
    await writeFile(join(project, 'other.yaml'), ['signing:', '  enabled-signers:', '    kyma-project/kyma: [svc]', '  signers:', '    - name: svc', '      type: notary', `      endpoint: ${signify.url}`, '      token-env: T', ''].join('\n'));
    const r = await berth(['sign', '--config', 'other.yaml', `${reg.host}/prod/app:v1.2.3`], { env: signEnv(), cwd: project });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'berth: nothing to sign with: other.yaml lists signers svc (notary), but signing.enabled-signers enables none for this build, which names no org/repo (give --repo, or run in CI with REPO_OWNER/REPO_NAME or GITHUB_REPOSITORY) (it enables kyma-project/kyma: [svc]); or pass --key cosign.key\n',
    );
  });

  test('bad signer configuration: an unknown type, a plain-http endpoint: exit 2, one line naming the line', async () => {
    for (const [signer, msg] of [
      ['      type: gpg\n      key: k.pem\n', /^berth: other\.yaml:6: signing\.signers\[0\]\.type: .*gpg/],
      [`      type: notary\n      endpoint: http://127.0.0.1:9/sign\n      token-env: T\n`, /^berth: other\.yaml:\d+: signing\.signers\[0\]\.endpoint: "http:\/\/127\.0\.0\.1:9\/sign" is not https/],
    ] as const) {
      await writeFile(join(project, 'other.yaml'), `signing:\n  enabled-signers:\n    '*': [svc]\n  signers:\n    - name: svc\n${signer}`);
      const r = await berth(['sign', '--config', 'other.yaml', `${reg.host}/prod/app:v1.2.3`], { env: signEnv(), cwd: project });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(msg);
    }
  });

  test('release --sign with the same berth.yaml signs through the services too', async () => {
    signify.seen.length = 0;
    repoNotary.seen.length = 0;
    const tar = join(dir, 'rel.tar');
    await ok(['build', '--base', 'static', '--platform', 'linux/amd64', '--label', 'n=rel', '--output', tar], env);
    const r = await ok(['release', '--component', `rel=${tar}`, '--registry', `${reg.host}/prod`, '--tag', 'v2', '--sign', '--repo', 'kyma-project/test-infra', '--json'], signEnv(), project);
    const c = JSON.parse(r.stdout).components[0];
    expect(JSON.parse(signify.seen[0]!.body)).toEqual({ trustedCollections: [{ gun: `${reg.host}/prod/rel`, targets: [{ name: 'v2', byteSize: expect.any(Number), digest: c.digest.slice(7) }] }] });
    expect(repoNotary.seen).toHaveLength(1);
    expect(r.stderr).toContain(`berth: signed ${reg.host}/prod/rel@${c.digest}: default-signify (notary) -> ${new URL(signify.url).origin}; repo-token-notary (notary) -> ${new URL(repoNotary.url).origin}`);
  });

  test("kyma's own sign-config shape: config {endpoint, timeout: 5m, retry-timeout: 10s, secret {path, type: signify|token}}", async () => {
    const creds = JSON.parse(await readFile(signify.secretFile, 'utf8')) as { certData: string; privateKeyData: string };
    await writeFile(join(project, 'signify.yaml'), `certData: ${creds.certData}\nprivateKeyData: ${creds.privateKeyData}\n`);
    await writeFile(join(project, 'token'), 'tok-Zq81x\n');
    await writeFile(
      join(project, 'kyma.yaml'),
      [
        'signing:',
        '  enabled-signers:',
        "    '*':",
        '      - default-signify',
        '    kyma-project/test-infra:',
        '      - repo-token-notary',
        '  signers:',
        '    - name: default-signify',
        '      type: notary',
        `      ca: ${signify.ca}`,
        '      config:',
        `        endpoint: ${signify.url}`,
        '        timeout: 5m',
        '        retry-timeout: 10s',
        '        secret:',
        '          path: signify.yaml',
        '          type: signify',
        '    - name: repo-token-notary',
        '      type: notary',
        `      ca: ${repoNotary.ca}`,
        '      config:',
        `        endpoint: ${repoNotary.url}`,
        '        timeout: 5m',
        '        retry-timeout: 10s',
        '        secret:',
        '          path: token',
        '          type: token',
        '',
      ].join('\n'),
    );
    signify.seen.length = 0;
    repoNotary.seen.length = 0;
    await ok(['sign', '--config', 'kyma.yaml', `${reg.host}/prod/app:v1.2.3`], signEnv({ REPO_OWNER: 'kyma-project', REPO_NAME: 'test-infra', NOTARY_TOKEN: undefined }), project);
    expect(signify.seen.map((x) => x.clientCN)).toEqual(['berth-ci']);
    expect(repoNotary.seen.map((x) => x.auth)).toEqual(['Bearer tok-Zq81x']);
    await writeFile(join(project, 'kyma.yaml'), "signing:\n  enabled-signers:\n    '*': [s]\n  signers:\n    - name: s\n      type: notary\n      config:\n        endpoint: https://x.example/sign\n        timeout: five minutes\n        secret: {path: t, type: token}\n");
    const bad = await berth(['sign', '--config', 'kyma.yaml', `${reg.host}/prod/app:v1.2.3`], { env: signEnv(), cwd: project });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^berth: kyma\.yaml:\d+: signing\.signers\[0\]\.config\.timeout: "five minutes" is not a duration \(such as 30s, 5m, 1h\)$/);
  });
});
