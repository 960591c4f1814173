/**
 * The whole berth CLI as one file, dist/lean/berth.mjs (esbuild, from `npm run build`): what
 * the Bazel rules in build/ run. One file is one declared input, cheap for Bazel to hash and
 * to put in a sandbox, found by label from any workspace that loads the rules, and it starts
 * faster than dist/ with node_modules (no module resolution).
 *
 *   node dist/lean/berth.mjs build --base static ...
 */
import { run } from './bin.js';

await run(process.argv.slice(2));
