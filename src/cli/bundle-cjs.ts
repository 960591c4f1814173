/**
 * The whole berth CLI as one CommonJS file, dist/lean/berth.cjs (esbuild, from `npm run
 * build`). Two users:
 * - bin/berth.js loads it through vm.Script with V8's code cache (node 20 caches compiled
 *   code for scripts, not for ES modules), so a run starts without compiling the CLI again;
 * - the Bazel rules in build/ run `node dist/lean/berth.cjs …` (esbuild's footer runs the
 *   CLI when the file is node's main module): one declared input, cheap to hash and to put
 *   in a sandbox, found by label from any workspace that loads the rules.
 */
export { run } from './bin.js';
/** For test/helpers/cli-child.cjs: many commands in one process, with captured output. */
export { main } from './main.js';
