/**
 * The CLI as one CommonJS file, dist/lean/berth.cjs (esbuild, from `npm run build`): what
 * bin/berth.js runs. CommonJS because node 20 can cache the compiled code of a script
 * (vm.Script cachedData) but not of an ES module; bin/berth.js keeps that cache, so a run
 * starts without compiling the CLI again.
 */
export { run } from './bin.js';
