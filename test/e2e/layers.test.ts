import { expect, test } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, dirname, resolve } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * DESIGN.md's layers, lowest first: a module may import from its own folder and the folders
 * it lists here, never from above. `errors.ts` sits below everything; `util/` (atomic writes,
 * file-system errors, scratch and work folders, streams, sizes, the subprocess runner) just
 * above it, importable by every layer and importing none.
 */
const MAY_IMPORT: Record<string, string[]> = {
  util: [],
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
  folders: ['oci', 'blob', 'image', 'transport', 'registry', 'config', 'status', 'tags', 'dockerfile', 'builder', 'release', 'sign'],
  cli: ['*'],
};
/** Every layer may import the bottom one. */
const EVERYONE_MAY_IMPORT = ['util'];

/**
 * The relative module specifiers `text` imports: static `import ... from` and `export ... from`
 * (`export *` included), side-effect `import '...'`, and dynamic `import('...')` (a lazily
 * loaded module is still a dependency).
 */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+['"](\.[^'"]+)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+['"](\.[^'"]+)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

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
    for (const spec of relativeImports(text)) {
      const target = relative(src, resolve(dirname(file), spec)).split('/')[0]!;
      if (target === from || target.endsWith('.js') || allowed.includes('*') || allowed.includes(target)) continue;
      if (EVERYONE_MAY_IMPORT.includes(target) && from !== 'util') continue;
      violations.push(`${relative(src, file)} imports ${spec} (layer "${target}")`);
    }
  }
  expect(violations).toEqual([]);
});

test('the layer check reads every form of import', () => {
  const text = [
    "import { a } from './a.js';",
    'import {\n  b,\n  c,\n} from "../b/c.js";',
    "import type { D } from '../d.js';",
    "export * from '../e.js';",
    "export { f } from './f.js';",
    "import './g.js';",
    "  const { h } = await import('../h/h.js');",
    "import { i } from 'node:fs';",
  ].join('\n');
  expect(relativeImports(text).sort()).toEqual(['../b/c.js', '../d.js', '../e.js', '../h/h.js', './a.js', './f.js', './g.js']);
});
