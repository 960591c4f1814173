/**
 * The progress display as a person sees it: a real push of a multi-platform image to a real
 * registry, run by bin/berth.js inside tmux at 80 and 200 columns, read back with
 * `tmux capture-pane` (scrollback included, wrapped lines joined).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN, berthBin } from './helpers/cli.js';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let registry: TestRegistry;
const socket = `berth-test-${process.pid}`;

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-tty-'));
  registry = await startRegistry();
  const env = { PATH: process.env.PATH, XDG_CACHE_HOME: join(dir, 'cache') };
  // Two platforms, each with a 24 MiB layer of random bytes, in one index.
  for (const arch of ['amd64', 'arm64']) {
    await writeFile(join(dir, `big-${arch}`), randomBytes(24 << 20));
    const r = await berthBin(['build', '--base', 'scratch', '--platform', `linux/${arch}`, '--file', `big-${arch}:/big`, '--compression-level', '0', '--output', `${arch}.tar`], { cwd: dir, env });
    expect(r.stderr).toContain('berth: built');
  }
  const r = await berthBin(['index', '--image', 'amd64.tar', '--image', 'arm64.tar', '--output', 'multi.tar'], { cwd: dir, env });
  expect(r.code).toBe(0);
}, 180_000);

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  await registry?.stop();
  await cleanup?.();
});

/** Runs `berth ARGS` in a tmux pane `width` columns wide; returns the whole pane, wrapped lines joined. */
async function inTmux(width: number, args: string[]): Promise<string> {
  const session = `w${width}-${Math.random().toString(36).slice(2, 8)}`;
  const cmd = `cd ${dir} && XDG_CACHE_HOME=${join(dir, 'cache')} ${process.execPath} ${BERTH_BIN} ${args.join(' ')}; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', '30', 'bash', '--norc', '--noprofile', '-c', cmd);
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
      if (process.env.BERTH_SHOW_TMUX) console.log(screen);
      if (/EXIT=\d+/.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`berth did not finish in tmux:\n${screen}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    tmux('kill-session', '-t', session);
  }
}

function lines(screen: string): string[] {
  return screen.split('\n').map((l) => l.replace(/\s+$/, '')).filter((l) => l !== '');
}

describe.each([80, 200])('a push in a %i-column terminal', (width) => {
  test('fits the width, leaves no stale progress lines, and one summary line per image', async () => {
    // Through a proxy that makes two uploads fail once: retry lines print while the display is live.
    const proxy = await startFaultProxy({ target: registry.host, faults: [{ method: 'PUT', path: /\/blobs\/uploads\//, times: 2, action: { kind: 'status', status: 503 } }] });
    let screen: string;
    try {
      screen = await inTmux(width, ['push', '--jobs', '1', 'multi.tar', `${proxy.host}/tty${width}/app:v1`]);
    } finally {
      await proxy.close();
    }
    const all = lines(screen);
    expect(all.at(-1)).toBe('EXIT=0');
    // -J joins a line the terminal wrapped: a joined line wider than the pane was wrapped. Only
    // messages (the result with its digests, a retry's reason) may be longer than the width.
    expect(all.filter((l) => l.length > width && !/^berth: (pushed|retrying) /.test(l))).toEqual([]);
    // Nothing of the live display is left: no bars, no per-blob lines.
    expect(all.filter((l) => /\[[#.]+\]|s left/.test(l))).toEqual([]);
    expect(all.filter((l) => /^berth: pushing \S+ linux\/amd64: /.test(l))).toHaveLength(1);
    expect(all.filter((l) => /^berth: pushing \S+ linux\/arm64: /.test(l))).toHaveLength(1);
    expect(all.filter((l) => /^berth: retrying /.test(l))).toHaveLength(2);
    expect(all.filter((l) => /done/.test(l))).toHaveLength(1);
    expect(all.find((l) => /done/.test(l))).toMatch(/^berth: pushing done: 2 images, /);
    expect(all.filter((l) => /^berth: pushed sha256:[0-9a-f]{64} -> /.test(l))).toHaveLength(1);
  }, 180_000);
});

test('mounted blobs say so: a second repository of the same registry mounts every layer', async () => {
  await berthBin(['push', 'multi.tar', `${registry.host}/first/app:v1`], { cwd: dir, env: { PATH: process.env.PATH, XDG_CACHE_HOME: join(dir, 'cache') } });
  const screen = await inTmux(100, ['push', 'multi.tar', `${registry.host}/second/app:v1`]);
  const all = lines(screen);
  expect(all.at(-1)).toBe('EXIT=0');
  expect(all.find((l) => /^berth: pushing second\/app linux\/amd64: /.test(l))).toMatch(/mounted/);
  expect(all.find((l) => l.startsWith('berth: pushed '))).toMatch(/0 uploaded, \d+ mounted/);
}, 180_000);

test('without a TTY: a line as the push starts, one per blob as it settles, a summary per image', async () => {
  const r = await berthBin(['push', 'multi.tar', `${registry.host}/plain/app:v1`], { cwd: dir, env: { PATH: process.env.PATH, XDG_CACHE_HOME: join(dir, 'cache2') } });
  expect(r.code).toBe(0);
  const out = r.stderr.split('\n');
  const start = out.findIndex((l) => /^berth: pushing \S+ linux\/amd64: 2 blobs, 24\.\d MiB$/.test(l));
  const blob = out.findIndex((l) => /^berth: pushing \S+ linux\/amd64: sha256:[0-9a-f]{12} 24\.\d MiB uploaded$/.test(l));
  const summary = out.findIndex((l) => /^berth: pushing \S+ linux\/amd64: 2 blobs, 24\.\d MiB \(2 uploaded\)$/.test(l));
  expect(start).toBeGreaterThanOrEqual(0);
  expect(blob).toBeGreaterThan(start);
  expect(summary).toBeGreaterThan(blob);
  expect(r.stderr).not.toContain('\x1b[');
}, 180_000);

test('a pull shows progress too: in a terminal one summary per image, without one a line per blob', async () => {
  const env = { PATH: process.env.PATH, XDG_CACHE_HOME: join(dir, 'cache3') };
  expect((await berthBin(['push', 'multi.tar', `${registry.host}/pulled/app:v1`], { cwd: dir, env })).code).toBe(0);
  const plain = await berthBin(['pull', `${registry.host}/pulled/app:v1`, '-o', 'pulled.tar'], { cwd: dir, env });
  expect(plain.code).toBe(0);
  const out = plain.stderr.split('\n');
  expect(out).toContainEqual(expect.stringMatching(/^berth: pulling pulled\/app linux\/arm64: 1 blobs, 24\.\d MiB$/));
  expect(out).toContainEqual(expect.stringMatching(/^berth: pulling pulled\/app linux\/arm64: sha256:[0-9a-f]{12} 24\.\d MiB downloaded$/));
  expect(out).toContainEqual(expect.stringMatching(/^berth: pulling pulled\/app linux\/arm64: 1 blobs, 24\.\d MiB \(1 downloaded\)$/));
  const screen = lines(await inTmux(80, ['pull', `${registry.host}/pulled/app:v1`, '-o', 'pulled2.tar']));
  expect(screen.at(-1)).toBe('EXIT=0');
  expect(screen.filter((l) => /\[[#.]+\]|s left/.test(l))).toEqual([]);
  expect(screen.filter((l) => /^berth: pulling pulled\/app linux\/(amd64|arm64): 1 blobs, 24\.\d MiB \(1 downloaded\)$/.test(l))).toHaveLength(2);
  expect(screen.filter((l) => /^berth: pulling done: 2 images, /.test(l))).toHaveLength(1);
}, 180_000);
