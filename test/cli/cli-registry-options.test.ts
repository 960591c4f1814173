/**
 * Which registries berth reaches over plain HTTP: --insecure-registry and berth.yaml's
 * insecure-registries, merged (the client's use of the list is tested in
 * test/registry/faults.test.ts against a real server).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { registryOptions } from '../../src/cli/registry-flags.js';
import type { CliIO } from '../../src/cli/io.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-insecure-'));
});
afterAll(() => cleanup());

const io = (cwd: string): CliIO => ({ cwd, env: {}, stdout: { write: () => true }, stderr: { write: () => true } }) as unknown as CliIO;
const args = (insecure?: string[]) => ({ debug: false, json: false, ...(insecure ? { 'insecure-registry': insecure } : {}) });

test("berth.yaml's insecure-registries join --insecure-registry's, each once", async () => {
  await writeFile(`${dir}/berth.yaml`, 'insecure-registries: [registry.lan:5000, mirror.lan]\n');
  expect((await registryOptions(args(['mirror.lan,build.lan:8080']), io(dir))).insecure).toEqual(['mirror.lan', 'build.lan:8080', 'registry.lan:5000']);
});

test('without berth.yaml, only the flag counts', async () => {
  const { dir: empty, cleanup: done } = await tempDir('berth-insecure-none-');
  try {
    expect((await registryOptions(args(['a.lan']), io(empty))).insecure).toEqual(['a.lan']);
  } finally {
    await done();
  }
});

test('a value that is not HOST[:PORT] is refused naming where it came from', async () => {
  await writeFile(`${dir}/berth.yaml`, 'insecure-registries:\n  - ok.lan\n  - http://bad.lan\n');
  await expect(registryOptions(args(), io(dir))).rejects.toThrow('berth.yaml:3: insecure-registries[1]: "http://bad.lan" is not HOST[:PORT]');
  await expect(registryOptions(args(['bad host']), io(dir))).rejects.toThrow('--insecure-registry: "bad host" is not HOST[:PORT]');
});

test('--timeout is taken by every command that talks to a registry, in seconds', async () => {
  const { berth } = await import('../helpers/cli.js');
  for (const cmd of ['push', 'pull', 'copy', 'inspect', 'build', 'release', 'sign', 'verify']) {
    const r = await berth([cmd, '--help']);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect({ cmd, has: help.includes('--timeout seconds a registry request may move no byte before it fails') }).toEqual({ cmd, has: true });
  }
  const { dir: empty, cleanup: done } = await tempDir('berth-timeout-');
  try {
    expect((await registryOptions({ ...args(), timeout: 2.5 }, io(empty))).timeoutMs).toBe(2500);
  } finally {
    await done();
  }
});
