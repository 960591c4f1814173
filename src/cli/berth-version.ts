import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** berth's version, from the package.json above this module (dist/cli/ or dist/lean/ alike). */
export function berthVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'berth' && pkg.version) return pkg.version;
    } catch {
      // not here: look one folder up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** What `berth version` and `berth --version` print. */
export function versionInfo(): { berth: string; node: string; platform: string } {
  return { berth: berthVersion(), node: process.version, platform: `${process.platform}/${process.arch}` };
}

export function versionText(): string {
  const v = versionInfo();
  return `berth ${v.berth}\nnode ${v.node}\nplatform ${v.platform}\n`;
}
