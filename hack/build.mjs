// `npm run build`: the type-checked ES modules in dist/ (tsc), then the CommonJS bundles under
// dist/lean/ that bin/berth.js and the Bazel actions run (a bundle starts faster than dist/
// with its node_modules). yaml is its own bundle, shared by the status and push bundles.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { lazyStringWidth } from './esbuild/lazy-string-width.mjs';

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
