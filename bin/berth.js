#!/usr/bin/env node
// `berth push` goes to its lean bundle (no yargs: a warm push is mostly start-up); it hands
// back anything it does not take as it is (--help, a bad flag) to the full CLI.
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
  const { run } = await import('../dist/cli/bin.js');
  await run(argv);
} else {
  process.exitCode = code;
}
