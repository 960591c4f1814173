// An esbuild plugin for the CLI bundle: yargs' ES module shim imports string-width, cliui and
// assert at its top. string-width and cliui (with wrap-ansi and their own string-widths) build
// Unicode property regular expressions and Intl.Segmenters as they load, and node's assert
// loads its error formatting: together tens of milliseconds of every berth run. yargs needs
// them only to lay out --help and on a misuse of its API, so in the bundle it gets stand-ins
// that load the real module on their first call (the same module, so the same output).
import { dirname } from 'node:path';

const SHIM = /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/;
/** Module → the names yargs' shim imports from it. */
const LAZY = { 'string-width': ['default'], cliui: ['default'], assert: ['notStrictEqual', 'strictEqual'] };

export const lazyStringWidth = {
  name: 'lazy-yargs-imports',
  setup(build) {
    build.onResolve({ filter: /^(string-width|cliui|assert)$/ }, (args) =>
      args.namespace === 'file' && SHIM.test(args.importer) ? { path: args.path, namespace: 'lazy-yargs', pluginData: { importer: args.importer } } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-yargs' }, async (args) => {
      const resolveDir = dirname(args.pluginData.importer);
      const real = await build.resolve(args.path, { kind: 'import-statement', resolveDir });
      if (real.errors.length) return { errors: real.errors };
      const target = JSON.stringify(real.external ? args.path : real.path);
      const fns = LAZY[args.path].map((name) => `export ${name === 'default' ? 'default function' : `function ${name}`}(...a) {\n  return load().${name}(...a);\n}\n`);
      return { resolveDir, loader: 'js', contents: `let real;\nconst load = () => (real ??= require(${target}));\n${fns.join('')}` };
    });
  },
};
