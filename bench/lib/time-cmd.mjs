#!/usr/bin/env node
// time-cmd.mjs OUT CMD [ARGS...]: runs CMD and writes "<wall seconds> <peak RSS KiB>" to OUT,
// like `/usr/bin/time -f '%e %M' -o OUT`, for machines without GNU time. Peak RSS is the
// largest VmHWM of any process in CMD's tree, sampled every 10 ms (Linux /proc).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const [out, cmd, ...args] = process.argv.slice(2);
if (!out || !cmd) {
  console.error('usage: time-cmd.mjs OUT CMD [ARGS...]');
  process.exit(2);
}

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** PIDs of `root` and all its descendants. */
function tree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) pids.push(...(children.get(pids[i]) ?? []));
  return pids;
}

let peakKiB = 0;
const start = performance.now();
const child = spawn(cmd, args, { stdio: 'inherit' });
const sample = () => {
  for (const pid of tree(child.pid)) {
    const hwm = /VmHWM:\s+(\d+)/.exec(read(`/proc/${pid}/status`));
    if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
  }
};
const timer = setInterval(sample, 10);
child.on('exit', (code, signal) => {
  clearInterval(timer);
  const seconds = (performance.now() - start) / 1000;
  writeFileSync(out, `${seconds.toFixed(2)} ${peakKiB}\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
