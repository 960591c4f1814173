// Injected into the CommonJS bundle of the CLI (dist/lean/berth.cjs): the ES modules bundled
// in it (yargs' shims, for one) ask for import.meta.url, which CommonJS does not have.
export const import_meta_url = require('node:url').pathToFileURL(__filename).href;
