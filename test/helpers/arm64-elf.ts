/**
 * A tiny static aarch64 Linux program, assembled here (no arm64 toolchain or package needed):
 * it calls uname(2) and writes the first 7 bytes of the machine field (`aarch64` under qemu or
 * on arm64) into /arch, then exits 0. Tests RUN it as `RUN ["/uname-m"]` in an arm64 image.
 */
const CODE = [
  0xd10803ff, // sub  sp, sp, #512
  0x910003e0, // mov  x0, sp
  0xd2801408, // mov  x8, #160        (uname)
  0xd4000001, // svc  #0
  0x92800c60, // mov  x0, #-100       (AT_FDCWD)
  0x10000181, // adr  x1, path        (+48)
  0xd2804822, // mov  x2, #0x241      (O_WRONLY|O_CREAT|O_TRUNC)
  0xd2803483, // mov  x3, #0644
  0xd2800708, // mov  x8, #56         (openat)
  0xd4000001, // svc  #0
  0x910413e1, // add  x1, sp, #260    (utsname.machine)
  0xd28000e2, // mov  x2, #7
  0xd2800808, // mov  x8, #64         (write)
  0xd4000001, // svc  #0
  0xd2800000, // mov  x0, #0
  0xd2800ba8, // mov  x8, #93         (exit)
  0xd4000001, // svc  #0
];

export function arm64UnameProgram(): Buffer {
  const code = Buffer.alloc(CODE.length * 4);
  CODE.forEach((w, i) => code.writeUInt32LE(w, i * 4));
  const path = Buffer.from('/arch\0', 'latin1');
  const headers = 64 + 56;
  const total = headers + code.length + path.length;
  const base = 0x400000;
  const h = Buffer.alloc(headers);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; // 64-bit
  h[5] = 1; // little endian
  h[6] = 1;
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(183, 18); // EM_AARCH64
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(BigInt(base + headers), 24); // entry
  h.writeBigUInt64LE(64n, 32); // program headers at 64
  h.writeUInt16LE(64, 52);
  h.writeUInt16LE(56, 54);
  h.writeUInt16LE(1, 56); // one program header
  // PT_LOAD of the whole file, read + execute.
  h.writeUInt32LE(1, 64);
  h.writeUInt32LE(5, 68);
  h.writeBigUInt64LE(0n, 72);
  h.writeBigUInt64LE(BigInt(base), 80);
  h.writeBigUInt64LE(BigInt(base), 88);
  h.writeBigUInt64LE(BigInt(total), 96);
  h.writeBigUInt64LE(BigInt(total), 104);
  h.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([h, code, path]);
}
