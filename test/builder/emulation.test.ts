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

// More of this machine's /proc/sys/fs/binfmt_misc entries (Debian 12's qemu-user-static, openjdk's jar), as they read.
const S390X = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c4602020100000000000000000000020016\nmask fffffffffffffffcfffffffffffffffffffeffff\n';
const ARM = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n';
const PPC64LE = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/ppc64le-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c4602010100000000000000000002001500\nmask fffffffffffffffcfffffffffffffffffeffff00\n';
const JAR = 'enabled\ninterpreter /usr/bin/jexec\nflags: \noffset 0\nmagic 504b0304\n';
const EXE = 'enabled\ninterpreter /usr/bin/wine\nflags: \nextension .exe\n';

describe('binfmt_misc entries as the kernel lists them', () => {
  test('parseBinfmtEntry: each field; a magic without mask is matched whole; disabled; an extension entry is none', () => {
    expect(parseBinfmtEntry('qemu-s390x', S390X)).toEqual({
      name: 'qemu-s390x',
      enabled: true,
      interpreter: '/usr/libexec/qemu-binfmt/s390x-binfmt-P',
      offset: 0,
      magic: Buffer.from('7f454c4602020100000000000000000000020016', 'hex'),
      mask: Buffer.from('fffffffffffffffcfffffffffffffffffffeffff', 'hex'),
    });
    expect(parseBinfmtEntry('jar', JAR)).toEqual({ name: 'jar', enabled: true, interpreter: '/usr/bin/jexec', offset: 0, magic: Buffer.from('504b0304', 'hex'), mask: Buffer.from('ffffffff', 'hex') });
    expect(parseBinfmtEntry('qemu-arm', `disabled${ARM.slice('enabled'.length)}`)?.enabled).toBe(false);
    expect(parseBinfmtEntry('wine', EXE)).toBeUndefined();
    expect(parseBinfmtEntry('bare', 'enabled\nmagic 7f45\n')).toEqual({ name: 'bare', enabled: true, interpreter: '', offset: 0, magic: Buffer.from('7f45', 'hex'), mask: Buffer.from('ffff', 'hex') });
    expect(parseBinfmtEntry('at', 'enabled\ninterpreter /x\noffset 16\nmagic 0200\n')?.offset).toBe(16);
  });

  test('emulatorFor: the entry matching each architecture\'s ELF header (32- and 64-bit, little and big endian); none for an unknown one', () => {
    const entries = [parseBinfmtEntry('jar', JAR)!, parseBinfmtEntry('qemu-arm', ARM)!, parseBinfmtEntry('qemu-s390x', S390X)!, parseBinfmtEntry('qemu-ppc64le', PPC64LE)!, parseBinfmtEntry('qemu-aarch64', AARCH64)!];
    expect(['arm', 's390x', 'ppc64le', 'arm64', 'ppc64', 'riscv64', '386', 'sparc64'].map((a) => emulatorFor(a, entries)?.name)).toEqual(['qemu-arm', 'qemu-s390x', 'qemu-ppc64le', 'qemu-aarch64', undefined, undefined, undefined, undefined]);
  });

  test('emulatorFor: a magic at an offset must lie within the header; mask bytes missing are 0xff', () => {
    const entry = (offset: number, magic: string, mask?: string) => ({ name: `at-${offset}-${magic}`, enabled: true, interpreter: '/x', offset, magic: Buffer.from(magic, 'hex'), mask: Buffer.from(mask ?? 'ff'.repeat(magic.length / 2), 'hex') });
    expect(emulatorFor('arm64', [entry(18, 'b700')])?.name).toBe('at-18-b700');
    expect(emulatorFor('arm64', [entry(18, 'b70000')])).toBeUndefined();
    expect(emulatorFor('arm', [entry(0, '7f454c4602', 'ff')])).toBeUndefined();
    expect(emulatorFor('arm64', [entry(0, '7f454c4602', 'ff')])?.name).toBe('at-0-7f454c4602');
  });

  test('readBinfmt: the status and the entries of a folder; not mounted when the folder or its status is missing', async () => {
    const proc = join(dir, 'binfmt');
    await mkdir(join(proc, 'a-folder'), { recursive: true });
    await writeFile(join(proc, 'status'), 'enabled\n');
    await writeFile(join(proc, 'register'), '');
    await writeFile(join(proc, 'qemu-arm'), ARM);
    await writeFile(join(proc, 'jar'), JAR);
    await writeFile(join(proc, 'wine'), EXE);
    const state = readBinfmt(proc);
    expect(state.mounted && [state.enabled, state.entries.map((e) => e.name).sort()]).toEqual([true, ['jar', 'qemu-arm']]);
    await writeFile(join(proc, 'status'), 'disabled\n');
    expect(readBinfmt(proc)).toMatchObject({ mounted: true, enabled: false });
    expect(readBinfmt(join(dir, 'no-such-folder'))).toEqual({ mounted: false });
    expect(readBinfmt(join(proc, 'a-folder'))).toEqual({ mounted: false });
  });

  test('cannotRun: each message whole', () => {
    const none = { mounted: true as const, enabled: true, entries: [] };
    expect(cannotRun({ os: 'windows', architecture: 'amd64' }, amd64, none)).toBe('this machine (linux/amd64) cannot run programs for windows/amd64');
    expect(cannotRun({ os: 'linux', architecture: 'arm', variant: 'v7' }, arm64, { mounted: false })).toBeUndefined();
    expect(cannotRun({ os: 'linux', architecture: '386' }, arm64, { mounted: false })).toBe(
      'RUN for linux/386 needs an emulator, and binfmt_misc is not mounted on this machine (linux/arm64): install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), mount it (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) and register the emulators (update-binfmts --enable qemu-i386); or build that stage FROM --platform=$BUILDPLATFORM',
    );
    expect(cannotRun(amd64, { os: 'linux', architecture: 's390x' }, none)).toBe(
      'RUN for linux/amd64 needs an emulator, and binfmt_misc has none enabled for it on this machine (linux/s390x): install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support) and register it (update-binfmts --enable qemu-x86_64); or build that stage FROM --platform=$BUILDPLATFORM',
    );
    expect(cannotRun({ os: 'linux', architecture: 'sparc64' }, amd64, none)).toMatch(/\(update-binfmts --enable qemu-sparc64\)/);
  });
});

describe('binfmt_misc entries: spacing, and a magic shorter than the header', () => {
  test('fields with spaces after them read the same; a magic that is only "\\x7fELF" matches any ELF', () => {
    expect(parseBinfmtEntry('spaced', 'enabled\ninterpreter /usr/bin/x   \noffset 2 \nmagic 7f45  \n')).toEqual({ name: 'spaced', enabled: true, interpreter: '/usr/bin/x', offset: 2, magic: Buffer.from('7f45', 'hex'), mask: Buffer.from('ffff', 'hex') });
    const elf = { name: 'any-elf', enabled: true, interpreter: '/x', offset: 0, magic: Buffer.from('7f454c46', 'hex'), mask: Buffer.from('ffffffff', 'hex') };
    expect(['arm64', 'arm', 's390x'].map((a) => emulatorFor(a, [elf])?.name)).toEqual(['any-elf', 'any-elf', 'any-elf']);
  });
});
