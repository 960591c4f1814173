// An esbuild plugin for the CLI bundle: yargs' ES module shim imports string-width at the top,
// and string-width builds its Unicode property regular expressions (RGI_Emoji among them) as it
// loads, about 30 ms of every berth run. yargs measures text only to lay out --help, so in the
// bundle it gets a string-width that loads the real one on its first call.
import { dirname } from 'node:path';

export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, (args) =>
      args.namespace === 'file' && /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/.test(args.importer) ? { path: args.importer, namespace: 'lazy-string-width' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      resolveDir: dirname(args.path),
      loader: 'js',
      contents: 'let real;\nexport default function stringWidth(text, options) {\n  real ??= require("string-width").default;\n  return real(text, options);\n}\n',
    }));
  },
};
