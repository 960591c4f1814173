import { expect, test } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, dirname, resolve } from 'node:path';
import { REPO_ROOT } from './helpers/paths.js';

/**
 * DESIGN.md's layers, lowest first: a module may import from its own folder and the folders
 * it lists here, never from above. `errors.ts` sits below everything.
 */
const MAY_IMPORT: Record<string, string[]> = {
  oci: [],
  blob: ['oci'],
  image: ['oci', 'blob'],
  config: ['oci'],
  registry: ['oci', 'blob', 'config'],
  transport: ['oci', 'blob', 'image', 'registry', 'config'],
  status: ['oci', 'config'],
  tags: ['oci', 'config', 'status'],
  dockerfile: ['oci'],
  builder: ['oci', 'blob', 'image', 'transport', 'registry', 'config', 'status', 'dockerfile'],
  release: ['oci', 'blob', 'image', 'transport', 'registry', 'config', 'status', 'tags', 'sign'],
  sign: ['oci', 'blob', 'image', 'transport', 'registry', 'config', 'status', 'tags'],
  images: ['oci', 'blob', 'image', 'transport', 'registry', 'config', 'status', 'tags', 'dockerfile', 'builder', 'release', 'sign'],
  cli: ['*'],
};

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('no module imports from a layer above its own', async () => {
  const src = join(REPO_ROOT, 'src');
  const violations: string[] = [];
  for (const file of await sources(src)) {
    const from = relative(src, file).split('/')[0]!;
    if (from.endsWith('.ts')) continue;
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      violations.push(`${relative(src, file)}: folder "${from}" has no place in the layer table`);
      continue;
    }
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
      const target = relative(src, resolve(dirname(file), m[1]!)).split('/')[0]!;
      if (target === from || target.endsWith('.js') || allowed.includes('*') || allowed.includes(target)) continue;
      violations.push(`${relative(src, file)} imports ${m[1]} (layer "${target}")`);
    }
  }
  expect(violations).toEqual([]);
});
