import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin } from './cli.js';

export const BUSYBOX = '/bin/busybox';

/**
 * An image with a shell, made by berth itself without any network: Debian's busybox-static
 * (`/bin/busybox`, statically linked) with `/bin/sh` a symlink to it and an empty `/tmp`,
 * built with `berth build --base scratch --file DIR:/`. Returns the image tarball's path.
 *
 * `foreignShell`: `/bin/sh` is instead a bare aarch64 ELF header, which an amd64 kernel
 * without qemu/binfmt refuses with "exec format error" (an arm64 base no one can RUN in).
 */
export async function makeBusyboxBase(dir: string, opts: { name?: string; platform?: string; foreignShell?: boolean; epoch?: number; mergedUsr?: boolean } = {}): Promise<string> {
  const root = join(dir, `${opts.name ?? 'busybox'}-root`);
  await mkdir(join(root, 'tmp'), { recursive: true });
  if (opts.mergedUsr) {
    // As Debian 12, Ubuntu and Fedora lay it out: /bin, /sbin and /lib are symlinks into usr/.
    for (const d of ['bin', 'sbin', 'lib']) {
      await mkdir(join(root, 'usr', d), { recursive: true });
      await symlink(`usr/${d}`, join(root, d));
    }
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n');
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    await copyFile(BUSYBOX, join(root, 'usr', 'bin', 'busybox'));
    await symlink('busybox', join(root, 'usr', 'bin', 'sh'));
  } else await mkdir(join(root, 'bin'), { recursive: true });
  if (opts.mergedUsr) {
    // done above
  } else if (opts.foreignShell) {
    await writeFile(join(root, 'bin', 'sh'), aarch64ElfHeader(), { mode: 0o755 });
  } else {
    await copyFile(BUSYBOX, join(root, 'bin', 'busybox'));
    await symlink('busybox', join(root, 'bin', 'sh'));
  }
  const out = join(dir, `${opts.name ?? 'busybox'}.tar`);
  const tag = `localhost/test/${opts.name ?? 'busybox'}:latest`;
  const r = await berthBin(
    ['build', '--base', 'scratch', '--file', `${root}:/`, '--platform', opts.platform ?? 'linux/amd64', '--tag', tag, '--output', out],
    { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: String(opts.epoch ?? 1_600_000_000) } },
  );
  if (r.code !== 0) throw new Error(`berth build of the busybox base failed: ${r.stderr}`);
  return out;
}

/** A 64-bit little-endian ELF header for EM_AARCH64 (183), executable, no program to speak of. */
function aarch64ElfHeader(): Buffer {
  const h = Buffer.alloc(64);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; // ELFCLASS64
  h[5] = 1; // little endian
  h[6] = 1; // EV_CURRENT
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(183, 18); // EM_AARCH64
  h.writeUInt32LE(1, 20);
  h.writeUInt16LE(64, 52); // e_ehsize
  h.writeUInt16LE(56, 54); // e_phentsize
  return h;
}
