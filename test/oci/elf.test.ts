/**
 * ELF headers read for the foreign-binary check: the real programs of demo/hello and the
 * host's own node, every architecture's expected machine, class and byte order, and
 * arbitrary bytes (never a throw, never a match unless it starts an ELF header).
 */
import { expect, test } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeElf, elfMatchesPlatform, elfPlatform, formatElf } from '../../src/oci/elf.js';
import { parsePlatform } from '../../src/oci/platform.js';
import { REPO_ROOT } from '../helpers/paths.js';

const hello = (arch: string) => readFileSync(join(REPO_ROOT, 'demo/hello/bin', `hello-${arch}`)).subarray(0, 64);

test.each([
  ['amd64', 'linux/amd64', 'ELF 64-bit LSB x86-64 (linux/amd64)'],
  ['arm64', 'linux/arm64', 'ELF 64-bit LSB ARM aarch64 (linux/arm64)'],
  ['arm-v7', 'linux/arm/v7', 'ELF 32-bit LSB ARM (linux/arm)'],
  ['ppc64le', 'linux/ppc64le', 'ELF 64-bit LSB 64-bit PowerPC (linux/ppc64le)'],
  ['s390x', 'linux/s390x', 'ELF 64-bit MSB IBM S/390 (linux/s390x)'],
  ['riscv64', 'linux/riscv64', 'ELF 64-bit LSB RISC-V (linux/riscv64)'],
])('demo/hello/bin/hello-%s is for %s and no other platform', (arch, platform, shown) => {
  const elf = describeElf(hello(arch))!;
  expect(formatElf(elf)).toBe(shown);
  const others = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'linux/mips64le', 'linux/loong64'];
  expect(others.filter((p) => elfMatchesPlatform(elf, parsePlatform(p)))).toEqual(platform === 'linux/arm/v7' ? ['linux/arm/v7', 'linux/arm/v6'] : [platform]);
  expect(elfMatchesPlatform(elf, parsePlatform(platform.replace('linux', 'windows')))).toBe(false);
});

test("the host's node is an ELF file for the host", () => {
  const elf = describeElf(readFileSync(process.execPath).subarray(0, 20))!;
  expect(elfPlatform(elf)).toBe(process.arch === 'x64' ? 'linux/amd64' : process.arch === 'arm64' ? 'linux/arm64' : elfPlatform(elf));
});

test('what is not an ELF header is undefined: text, short input, a bad class or byte order', () => {
  expect(describeElf(Buffer.from('#!/bin/sh\necho hello from a script\n'))).toBeUndefined();
  expect(describeElf(hello('amd64').subarray(0, 19))).toBeUndefined();
  const badClass = Buffer.from(hello('amd64'));
  badClass[4] = 3;
  expect(describeElf(badClass)).toBeUndefined();
  const badOrder = Buffer.from(hello('amd64'));
  badOrder[5] = 0;
  expect(describeElf(badOrder)).toBeUndefined();
  expect(formatElf({ bits: 32, order: 'LSB', machine: 9999 })).toBe('ELF 32-bit LSB machine 9999');
});

test('arbitrary bytes never throw, and only an ELF magic gives an answer', () => {
  const MAGIC = [0x7f, 0x45, 0x4c, 0x46];
  // Inputs without the magic, with it, and with it and a known class and byte order: every branch is drawn in every run.
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 60 }).map((rest) => Uint8Array.from([...MAGIC, ...rest])),
    fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 58 })).map(([cls, data, rest]) => Uint8Array.from([...MAGIC, cls, data, ...rest])),
  );
  fc.assert(
    fc.property(bytes, (b) => {
      const elf = describeElf(b);
      const magic = b.length >= 4 && MAGIC.every((m, i) => b[i] === m);
      if (!magic) {
        expect(elf).toBeUndefined();
        return;
      }
      // With the magic: an answer exactly when the header is long enough and its class and byte order are known.
      const readable = b.length >= 20 && (b[4] === 1 || b[4] === 2) && (b[5] === 1 || b[5] === 2);
      expect(elf === undefined).toBe(!readable);
      if (elf) expect(formatElf(elf)).toMatch(/^ELF (32|64)-bit (LSB|MSB) /);
    }),
    { numRuns: 2000 },
  );
});
