/**
 * The build this compiled CLI (dist/) belongs to. `npm run build` (hack/build.mjs) replaces
 * dist/cli/build-stamp.js with the stamp it also writes beside its bundles
 * (dist/lean/build-stamp); a `tsc`-only rebuild puts this `undefined` back. bin/berth.js runs
 * the bundles only when the two agree, so bundles older than dist/ never run. Nothing else
 * reads it.
 */
export const BUILD_STAMP: string | undefined = undefined;
