// `npm run build`: the type-checked ES modules in dist/ (tsc), then the CommonJS bundles under
// dist/lean/ that bin/berth.js and the Bazel actions run (a bundle starts faster than dist/
// with its node_modules). yaml is its own bundle, shared by the status and push bundles.
//
// Last, the build stamp: a hash of everything the build read (src/, the lock file, tsconfig,
// this script, hack/esbuild/), written to dist/lean/build-stamp and into
// dist/cli/build-stamp.js. bin/berth.js runs the bundles only when the two agree: a build that
// failed part-way leaves no stamp, a `tsc`-only rebuild puts back src/cli/build-stamp.ts's
// `undefined`, and either way dist/cli/bin.js runs instead of bundles older than dist/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { lazyStringWidth } from './esbuild/lazy-string-width.mjs';

const STAMP = 'dist/lean/build-stamp';
const COMPILED_STAMP = 'dist/cli/build-stamp.js';
rmSync(STAMP, { force: true });

/** Every file under `dir` (recursively), sorted by path. */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}
const hash = createHash('sha256');
for (const file of [...files('src'), ...files('hack/esbuild'), 'hack/build.mjs', 'package-lock.json', 'tsconfig.json']) {
  const bytes = readFileSync(file);
  hash.update(`${file}\0${bytes.length}\0`).update(bytes);
}
const stamp = hash.digest('hex').slice(0, 32);

const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });

const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning' };
const sharedYaml = { alias: { yaml: './yaml.cjs' }, external: ['./yaml.cjs'] };

await Promise.all([
  build({ ...common, entryPoints: ['src/config/yaml-bundle.ts'], outfile: 'dist/lean/yaml.cjs' }),
  build({ ...common, ...sharedYaml, entryPoints: ['src/status/lean.ts'], outfile: 'dist/lean/status.cjs', supported: { 'dynamic-import': false } }),
  build({ ...common, ...sharedYaml, entryPoints: ['src/cli/lean-push.ts'], outfile: 'dist/lean/push.cjs', external: [...sharedYaml.external, 'execa'] }),
  build({
    ...common,
    entryPoints: ['src/cli/bundle-cjs.ts'],
    outfile: 'dist/lean/berth.cjs',
    supported: { 'dynamic-import': false },
    // ES modules bundled in (yargs' shims) ask for import.meta.url, which CommonJS lacks.
    define: { 'import.meta.url': 'import_meta_url' },
    inject: ['hack/esbuild/import-meta-url.js'],
    footer: { js: 'if(require.main===module)module.exports.run(process.argv.slice(2));' },
    plugins: [lazyStringWidth],
  }),
]);

writeFileSync(COMPILED_STAMP, `export const BUILD_STAMP = ${JSON.stringify(stamp)};\n`);
writeFileSync(STAMP, `${stamp}\n`);
