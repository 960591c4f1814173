#!/usr/bin/env node
// berth's entry. `berth push` goes to its lean bundle (no yargs: a warm push is mostly
// start-up); it hands back anything it does not take (--help, a bad flag) to the full CLI.
// The full CLI is the one-file CommonJS bundle dist/lean/berth.cjs, run with V8's compiled
// code cached per command under $XDG_CACHE_HOME/berth/v8 (~/.cache/berth/v8): a run then
// starts about 35 ms sooner than compiling it afresh, and 100 ms sooner than dist/ with its
// node_modules. The bundles run only when their build stamp (dist/lean/build-stamp, written
// last by `npm run build`) is the one in dist/cli/build-stamp.js; otherwise (bundles missing,
// a build that failed part-way, a `tsc`-only rebuild while developing) dist/cli/bin.js runs.
// docs/architecture.md has the table of which code runs for which command.
// This file is CommonJS (bin/package.json): node starts a CommonJS entry without its ES module
// loader, several milliseconds of every run.
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire, Module } = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const argv = process.argv.slice(2);

// A password in --creds USER:PASSWORD (or --src-creds, --dest-creds) is shown to every user of
// the machine by ps (/proc/PID/cmdline). berth overwrites its own command line with the
// password masked as soon as it starts, which leaves it visible only during start-up; --creds
// USER with the password on stdin or in BERTH_CREDS_PASSWORD never shows it.
{
  const CREDS = /^--(?:src-|dest-)?creds$/;
  const CREDS_EQ = /^(--(?:src-|dest-)?creds=)(.*)$/;
  const mask = (v) => (v.includes(':') ? `${v.slice(0, v.indexOf(':'))}:***` : v);
  let changed = false;
  const shown = argv.map((a, i) => {
    const eq = CREDS_EQ.exec(a);
    const out = eq ? `${eq[1]}${mask(eq[2])}` : i > 0 && CREDS.test(argv[i - 1]) ? mask(a) : a;
    changed ||= out !== a;
    return out;
  });
  if (changed) {
    const title = [process.argv0, process.argv[1], ...shown].join(' ');
    const room = process.argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) - 1;
    if (Buffer.byteLength(title) <= room) process.title = title;
    else process.title = 'berth';
  }
}
const here = __dirname;
const read = (rel) => {
  try {
    return readFileSync(join(here, rel), 'utf8');
  } catch {
    return undefined;
  }
};
// The bundles are current when their stamp is dist/'s (or there is no dist/cli to be newer).
const stamp = read('../dist/lean/build-stamp')?.trim() || undefined;
const compiledStamp = read('../dist/cli/build-stamp.js');
const bundled =
  stamp !== undefined &&
  (compiledStamp !== undefined ? compiledStamp.includes(JSON.stringify(stamp)) : statSync(join(here, '../dist/cli/bin.js'), { throwIfNoEntry: false }) === undefined);

/** Loads a CommonJS bundle through vm.Script with V8's code cache (one per command, node and build stamp); returns its exports and a function saving the cache. */
function loadCached(path, command) {
  const st = statSync(path);
  const cacheRoot = process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'berth') : join(process.env.HOME || homedir(), '.cache', 'berth');
  // Per command, so each cache holds the functions that command compiled; per bundle and node.
  const name = /^[a-z]+$/.test(command ?? '') ? command : 'other';
  const cacheFile = join(cacheRoot, 'v8', `${name}-${process.version}-${process.arch}-${st.size}-${stamp}.bin`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(readFileSync(path, 'utf8')), {
    filename: path,
    cachedData,
  });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(path), mod, path, dirname(path));
  const save = () => {
    if (cachedData !== undefined && !script.cachedDataRejected) return;
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // A cache that cannot be written only costs start-up time.
    }
  };
  return { exports: mod.exports, save };
}

async function main() {
  let code;
  if (argv[0] === 'push' && bundled) {
    let lean;
    try {
      lean = require('../dist/lean/push.cjs');
    } catch {
      lean = undefined;
    }
    if (lean) {
      lean.removeScratchOnSignals(); // interrupted, the blob cache's temporary files go
      code = await lean.runLeanPush(argv, lean.processIO());
    }
  }
  if (code !== undefined) {
    process.exitCode = code;
  } else if (bundled) {
    const { exports, save } = loadCached(join(here, '../dist/lean/berth.cjs'), argv[0]);
    await exports.run(argv);
    save();
  } else {
    const { run } = await import('../dist/cli/bin.js');
    await run(argv);
  }
}

main().catch((err) => {
  // As an ES module entry's top-level await failed: the error on stderr, exit 1.
  process.exitCode = 1;
  console.error(err);
});
