import { existsSync, writeFileSync } from 'node:fs';

const DIR = '/proc/sys/fs/binfmt_misc';

/**
 * The qemu emulator entry `qemu-NAME` must be registered (CI: .ci/run mounts binfmt_misc and
 * enables qemu-user-static's entries); throws a line saying so when it is not.
 */
export function requireEmulator(name: string): void {
  if (!existsSync(`${DIR}/qemu-${name}`)) {
    throw new Error(`${DIR}/qemu-${name} is missing: install qemu-user-static and binfmt-support (hack/install-deps.sh), mount binfmt_misc and run update-binfmts --enable (as .ci/run does)`);
  }
}

/** Runs `fn` with the qemu-NAME entry disabled (`echo 0`), enabled again after (`echo 1`) whatever happens. */
export async function withoutEmulator<T>(name: string, fn: () => Promise<T>): Promise<T> {
  requireEmulator(name);
  writeFileSync(`${DIR}/qemu-${name}`, '0');
  try {
    return await fn();
  } finally {
    writeFileSync(`${DIR}/qemu-${name}`, '1');
  }
}
