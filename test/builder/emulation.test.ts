/**
 * Foreign-architecture RUN on purpose (issue 17, item 6): an arm64 RUN really runs under qemu
 * (binfmt_misc, Debian's qemu-user-static), a missing emulator is exit 2 naming the platform,
 * the packages and the command before any work, and a cross-compiling stage needs none.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cannotRun, emulatorFor, parseBinfmtEntry, readBinfmt } from '../../src/builder/emulation.js';
import { arm64UnameProgram } from '../helpers/arm64-elf.js';
import { requireEmulator, withoutEmulator } from '../helpers/binfmt.js';
import { makeBusyboxBase } from '../helpers/busybox-base.js';
import { berthBin } from '../helpers/cli.js';
import { run, tempDir } from '../helpers/tools.js';

// Debian 12's qemu-user-static entry, as /proc/sys/fs/binfmt_misc/qemu-aarch64 shows it.
const AARCH64 = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n';
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

describe('which platforms this machine can RUN', () => {
  test('native and kernel-compatible platforms need nothing; others an enabled entry matching their ELF header', () => {
    const entry = parseBinfmtEntry('qemu-aarch64', AARCH64)!;
    expect(emulatorFor('arm64', [entry])?.name).toBe('qemu-aarch64');
    expect(emulatorFor('s390x', [entry])).toBeUndefined();
    expect(emulatorFor('arm64', [{ ...entry, enabled: false }])).toBeUndefined();
    expect(cannotRun(amd64, amd64, { mounted: false })).toBeUndefined();
    expect(cannotRun({ os: 'linux', architecture: '386' }, amd64, { mounted: false })).toBeUndefined();
    expect(cannotRun(arm64, amd64, { mounted: true, enabled: true, entries: [entry] })).toBeUndefined();
    expect(cannotRun(arm64, amd64, { mounted: true, enabled: false, entries: [entry] })).toMatch(/binfmt_misc has none enabled/);
    expect(cannotRun({ os: 'linux', architecture: 's390x' }, amd64, { mounted: true, enabled: true, entries: [entry] })).toBe(
      'RUN for linux/s390x needs an emulator, and binfmt_misc has none enabled for it on this machine (linux/amd64): install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) and register it (update-binfmts --enable qemu-s390x); or build that stage FROM --platform=$BUILDPLATFORM',
    );
    expect(cannotRun(arm64, amd64, { mounted: false })).toMatch(/binfmt_misc is not mounted.*mount -t binfmt_misc binfmt_misc \/proc\/sys\/fs\/binfmt_misc.*update-binfmts --enable qemu-aarch64/);
  });

  test('this machine: binfmt_misc mounted with qemu-user-static\'s aarch64 entry (CI sets it up)', () => {
    requireEmulator('aarch64');
    const state = readBinfmt();
    expect(state.mounted && emulatorFor('arm64', state.entries)?.name).toBe('qemu-aarch64');
  });
});

let dir: string;
let cleanup: () => Promise<void>;
let armBase: string;
let shellBase: string;
const env = () => ({ PATH: process.env.PATH!, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000' });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-emulation-'));
  const root = join(dir, 'arm-root');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'uname-m'), arm64UnameProgram());
  await chmod(join(root, 'uname-m'), 0o755);
  armBase = join(dir, 'arm-base.tar');
  const r = await berthBin(['build', '--base', 'scratch', '--file', `${root}:/`, '--platform', 'linux/arm64', '--output', armBase], { env: env() });
  expect(r.code).toBe(0);
  shellBase = await makeBusyboxBase(dir);
}, 120_000);
afterAll(async () => {
  await cleanup?.();
});

async function dockerfile(name: string, text: string): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), text);
  return join(ctx, 'Dockerfile');
}

describe('RUN for arm64 on this machine', () => {
  test('runs under qemu: the program sees uname -m aarch64', async () => {
    requireEmulator('aarch64');
    const df = await dockerfile('emulated', 'FROM base\nRUN ["/uname-m"]\n');
    const out = join(dir, 'emulated.tar');
    const r = await berthBin(['build', '--dockerfile', df, '--build-context', `base=${armBase}`, '--platform', 'linux/arm64', '--output', out], { env: env() });
    expect(r.stderr).not.toMatch(/exec format error/);
    expect(r.code).toBe(0);
    await run('skopeo', ['copy', '-q', `oci-archive:${out}`, `oci:${join(dir, 'emulated-oci')}:x`]);
    await run('umoci', ['unpack', '--image', `${join(dir, 'emulated-oci')}:x`, join(dir, 'emulated-root')]);
    expect(await readFile(join(dir, 'emulated-root', 'rootfs', 'arch'), 'utf8')).toBe('aarch64');
  }, 180_000);

  test('without an emulator: exit 2 before any work, naming the line, the platform, the packages and the command', async () => {
    const df = await dockerfile('no-emulator', 'FROM base\nENV A=1\nRUN ["/uname-m"]\n');
    const out = join(dir, 'no-emulator', 'out', 'img.tar');
    const r = await withoutEmulator('aarch64', () => berthBin(['build', '--dockerfile', df, '--build-context', `base=${armBase}`, '--platform', 'linux/arm64', '--output', out], { env: env() }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `berth: ${df}:3: RUN for linux/arm64 needs an emulator, and binfmt_misc has none enabled for it on this machine (linux/amd64): install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) and register it (update-binfmts --enable qemu-aarch64); or build that stage FROM --platform=$BUILDPLATFORM`,
    );
    expect(r.stderr).not.toMatch(/buildah/);
  }, 180_000);

  test('a cross-compiling stage (FROM --platform=$BUILDPLATFORM) needs no emulator', async () => {
    // The final stage FROM an arm64 image: buildah 1.28 alone would keep the first stage's platform for it.
    const df = await dockerfile('cross', 'FROM --platform=$BUILDPLATFORM shell AS build\nARG TARGETARCH\nRUN echo built for $TARGETARCH > /out\nFROM base\nCOPY --from=build /out /out\n');
    const out = join(dir, 'cross.tar');
    const r = await withoutEmulator('aarch64', () => berthBin(['build', '--dockerfile', df, '--build-context', `shell=${shellBase}`, '--build-context', `base=${armBase}`, '--platform', 'linux/arm64', '--output', out], { env: env() }));
    expect(r.stderr).not.toMatch(/not consumed|does not match the expected platform/);
    expect(r.code).toBe(0);
    await run('skopeo', ['copy', '-q', `oci-archive:${out}`, `oci:${join(dir, 'cross-oci')}:x`]);
    await run('umoci', ['unpack', '--image', `${join(dir, 'cross-oci')}:x`, join(dir, 'cross-root')]);
    expect(await readFile(join(dir, 'cross-root', 'rootfs', 'out'), 'utf8')).toBe('built for arm64\n');
    expect((await readFile(join(dir, 'cross-root', 'rootfs', 'uname-m'))).readUInt16LE(18)).toBe(183);
  }, 180_000);

  test('berth images: a missing emulator stops the run before any build or build_binaries starts, exit 2 naming the image', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'images', 'aa-side'), { recursive: true });
    await mkdir(join(tree, 'images', 'zz-arm'), { recursive: true });
    await writeFile(join(tree, 'images', 'aa-side', 'Dockerfile'), 'FROM scratch\nCOPY marker /marker\n');
    await writeFile(join(tree, 'images', 'aa-side', 'build_binaries'), '#!/bin/sh\necho ran > marker\n');
    await chmod(join(tree, 'images', 'aa-side', 'build_binaries'), 0o755);
    await writeFile(join(tree, 'images', 'zz-arm', 'Dockerfile'), 'FROM scratch\nCOPY prog /prog\nRUN ["/prog"]\n');
    await writeFile(join(tree, 'images', 'zz-arm', 'prog'), arm64UnameProgram());
    await run('git', ['init', '-q', tree]);
    const r = await withoutEmulator('aarch64', () => berthBin(['images', 'build', '--all', '-p', 'linux/arm64', '--output', join(dir, 'tree-out')], { cwd: tree, env: env() }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      'berth: zz-arm images/zz-arm/Dockerfile:3: RUN for linux/arm64 needs an emulator, and binfmt_misc has none enabled for it on this machine (linux/amd64): install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) and register it (update-binfmts --enable qemu-aarch64); or build that stage FROM --platform=$BUILDPLATFORM',
    );
    await expect(readFile(join(tree, 'images', 'aa-side', 'marker'))).rejects.toThrow(/ENOENT/);
  }, 180_000);
});
