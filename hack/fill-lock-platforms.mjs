// The npm registry reachable here lacks some platform-only optional packages (darwin, win32,
// a few linux arches) that @swc/core and jest's resolver list. `npm install` then leaves them
// out of package-lock.json, and `npm ci` refuses the lock as out of sync. This adds each
// missing one as an optional entry with the os/cpu its name says, so `npm ci` skips it on
// this machine as it would anywhere else. Run after any `npm install`: node hack/fill-lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const CPU = { arm64: 'arm64', x64: 'x64', ia32: 'ia32', arm: 'arm', ppc64: 'ppc64', s390x: 's390x', loong64: 'loong64', riscv64: 'riscv64' };
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony'].includes(p));
    const cpu = parts.map((p) => CPU[p]).find(Boolean);
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${name}`);
    lock.packages[key] = { version, optional: true, os: [os], cpu: [cpu] };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform-only optional entries`);
