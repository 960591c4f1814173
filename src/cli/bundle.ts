/**
 * The whole berth CLI as one file, dist/lean/berth.mjs (esbuild, from `npm run build`): what
 * the Bazel rules in build/ run. One file is one declared input, cheap for Bazel to hash and
 * to put in a sandbox, independent of how node_modules was installed, and found by label
 * from any workspace that loads the rules (@berth//:berth_tool). bin/berth.js runs it too:
 * with no module resolution it starts about 150 ms sooner than dist/ with node_modules.
 *
 *   node dist/lean/berth.mjs build --base static ...
 */
import { run } from './bin.js';

await run(process.argv.slice(2));
