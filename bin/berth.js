#!/usr/bin/env node
// `berth push` goes to its lean bundle (no yargs: a warm push is mostly start-up); it hands
// back anything it does not take as it is (--help, a bad flag) to the full CLI. Every other
// command runs the one-file bundle of the CLI (dist/lean/berth.mjs), which starts about
// 150 ms sooner than dist/ with its node_modules; dist/cli/bin.js when the bundle is missing
// or older than dist/ (a `tsc`-only rebuild while developing).
import { statSync } from 'node:fs';

const argv = process.argv.slice(2);
let code;
if (argv[0] === 'push') {
  const { createRequire } = await import('node:module');
  let lean;
  try {
    lean = createRequire(import.meta.url)('../dist/lean/push.cjs');
  } catch {
    lean = undefined;
  }
  if (lean) code = await lean.runLeanPush(argv, lean.processIO());
}
if (code === undefined) {
  const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (mtime('../dist/lean/berth.mjs') >= mtime('../dist/cli/bin.js')) {
    await import('../dist/lean/berth.mjs');
  } else {
    const { run } = await import('../dist/cli/bin.js');
    await run(argv);
  }
} else {
  process.exitCode = code;
}
