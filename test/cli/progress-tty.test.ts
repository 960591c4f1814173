/**
 * The progress display as a person sees it: a real push of a multi-platform image to a real
 * registry, run by bin/berth.js inside tmux at 80 and 200 columns, read back with
 * `tmux capture-pane` (scrollback included, wrapped lines joined).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN, berthBin } from '../helpers/cli.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';

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

/** berth wraps a long line at a word with a 4-space indent: the lines as written, joined back. */
function joined(all: string[]): string[] {
  const out: string[] = [];
  for (const l of all) if (l.startsWith('    ') && out.length > 0) out[out.length - 1] += ` ${l.trim()}`; else out.push(l);
  return out;
}

describe.each([80, 200])('a push in a %i-column terminal', (width) => {
  test('fits the width, leaves no stale progress lines, and one summary line per image', async () => {
    // Through a proxy that makes two uploads fail once: retry lines print while the display is live.
    const proxy = await startFaultProxy({ target: registry.host, faults: [{ method: 'PUT', path: /\/blobs\/uploads\//, times: 2, action: { kind: 'status', status: 503 } }] });
    let screen: string;
    try {
      // The default --jobs at 200 columns (blobs at once, the bars interleaved); one at a time at 80.
      screen = await inTmux(width, ['push', ...(width === 80 ? ['--jobs', '1'] : []), 'multi.tar', `${proxy.host}/tty${width}/app:v1`]);
    } finally {
      await proxy.close();
    }
    const all = lines(screen);
    expect(all.at(-1)).toBe('EXIT=0');
    // -J joins a line the terminal wrapped: a joined line wider than the pane was wrapped.
    // Nothing is: berth shortens digests and wraps its own long lines at a word.
    expect(all.filter((l) => l.length >= width)).toEqual([]);
    // Nothing of the live display is left: no bars, no per-blob lines.
    expect(all.filter((l) => /\[[#.]+\]|s left/.test(l))).toEqual([]);
    expect(all.filter((l) => /^berth: pushing \S+ linux\/amd64: /.test(l))).toHaveLength(1);
    expect(all.filter((l) => /^berth: pushing \S+ linux\/arm64: /.test(l))).toHaveLength(1);
    expect(joined(all).filter((l) => /^berth: retrying .* answered 503 Service Unavailable \(UNAVAILABLE: injected by the fault proxy\)$/.test(l))).toHaveLength(2);
    expect(all.filter((l) => /done/.test(l))).toHaveLength(1);
    expect(all.find((l) => /done/.test(l))).toMatch(/^berth: pushing done: 2 images, /);
    // On a terminal too narrow for it the digest is shortened as docker shows it; whole on stdout.
    const hex = width === 80 ? 12 : 64;
    expect(joined(all).filter((l) => new RegExp(`^berth: pushed sha256:[0-9a-f]{${hex}} -> \\S+ \\(\\d+ uploaded, \\d+ mounted, \\d+ existing\\)$`).test(l))).toHaveLength(1);
    expect(all.filter((l) => /^sha256:[0-9a-f]{64}$/.test(l))).toHaveLength(1);
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

/** Polls the pane until `seen` matches, returning what it showed then. */
async function whileRunning(session: string, seen: RegExp): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
    if (seen.test(screen)) return screen;
    if (/EXIT=\d+/.test(screen) || Date.now() > deadline) throw new Error(`never saw ${seen}:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('--quiet on a terminal: one line per image, and the result', async () => {
  const all = lines(await inTmux(80, ['push', '--quiet', 'multi.tar', `${registry.host}/quiet/app:v1`]));
  expect(all.at(-1)).toBe('EXIT=0');
  const said = joined(all).filter((l) => l.startsWith('berth: '));
  expect(said.filter((l) => l.startsWith('berth: pushing '))).toEqual([
    expect.stringMatching(/^berth: pushing quiet\/app linux\/amd64: 2 blobs, 24\.\d MiB \(2 \w+\)$/),
    expect.stringMatching(/^berth: pushing quiet\/app linux\/arm64: 2 blobs, 24\.\d MiB \(2 \w+\)$/),
  ]);
  expect(said).toHaveLength(3);
  expect(said[2]).toMatch(/^berth: pushed sha256:[0-9a-f]{12} -> /);
  // Piped, --quiet is the same lines, digests whole.
  const piped = await berthBin(['push', '--quiet', 'multi.tar', `${registry.host}/quiet2/app:v1`], { cwd: dir, env: { PATH: process.env.PATH, XDG_CACHE_HOME: join(dir, 'cache4') } });
  expect(piped.stderr.split('\n').filter(Boolean).map((l) => l.replace(/: .*/, ''))).toEqual(['berth', 'berth', 'berth']);
  expect(piped.stderr).toMatch(/^berth: pushed sha256:[0-9a-f]{64} -> /m);
}, 180_000);

test('a long compression shows a spinner redrawn in place on a terminal, gone when done', async () => {
  // 96 MiB of node's binary at gzip level 9: seconds of work on one step.
  const node = await readFile(process.execPath);
  const parts: Buffer[] = [];
  for (let n = 0; n < 96 << 20; n += node.length) parts.push(node);
  await writeFile(join(dir, 'slow'), Buffer.concat(parts).subarray(0, 96 << 20));
  const session = `spin-${Math.random().toString(36).slice(2, 8)}`;
  const cmd = `cd ${dir} && ${process.execPath} ${BERTH_BIN} build --base scratch --file slow:/slow --compression-level 9 -o slow.tar; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '30', 'bash', '--norc', '--noprofile', '-c', cmd);
  try {
    const during = lines(await whileRunning(session, /berth: building slow\.tar [|/\\-] \d+ s/));
    // One line, redrawn: never a second one below it.
    expect(during.filter((l) => l.startsWith('berth: building'))).toHaveLength(1);
    const after = lines(await whileRunning(session, /EXIT=\d+/));
    expect(after.at(-1)).toBe('EXIT=0');
    expect(after.filter((l) => l.includes('berth: building'))).toEqual([]);
    expect(joined(after)).toContainEqual(expect.stringMatching(/^berth: built linux\/amd64 image sha256:[0-9a-f]{12} -> \S+slow\.tar$/));
    expect(after.filter((l) => l.length >= 80)).toEqual([]);
  } finally {
    tmux('kill-session', '-t', session);
  }
  // Without a terminal: no spinner drawing, the plain result line.
  const piped = await berthBin(['build', '--base', 'scratch', '--file', 'slow:/slow', '--compression-level', '1', '-o', 'slow2.tar'], { cwd: dir });
  expect(piped.stderr).not.toContain('\x1b[');
  expect(piped.stderr).toMatch(/^berth: built linux\/amd64 image sha256:[0-9a-f]{64} -> /m);
}, 240_000);

test('help fits the terminal (120 columns used) and is 80 columns piped', async () => {
  const piped = await berthBin(['release', '--help']);
  expect(piped.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
  const wide = lines(await inTmux(120, ['release', '--help']));
  expect(wide.filter((l) => l.length >= 120)).toEqual([]);
  expect(wide.filter((l) => l.length > 80).length).toBeGreaterThan(0);
  // release's own flags come before signing's.
  const at = (flag: string) => wide.findIndex((l) => l.includes(flag));
  expect(at('--component')).toBeLessThan(at('--sign '));
  expect(at('--registry ')).toBeLessThan(at('--key '));
}, 60_000);

test('inspect on an 80-column terminal: digests shortened where a line would not fit; whole piped and in --json', async () => {
  const all = lines(await inTmux(80, ['inspect', 'multi.tar']));
  expect(all.at(-1)).toBe('EXIT=0');
  expect(all.filter((l) => l.length >= 80)).toEqual([]);
  expect(all).toContainEqual(expect.stringMatching(/^index {6}sha256:[0-9a-f]{12}$/));
  const piped = await berthBin(['inspect', 'multi.tar'], { cwd: dir });
  expect(piped.stdout).toMatch(/^index {6}sha256:[0-9a-f]{64}$/m);
  const wide = lines(await inTmux(120, ['inspect', 'multi.tar']));
  expect(wide).toContainEqual(expect.stringMatching(/^index {6}sha256:[0-9a-f]{64}$/));
  const raw = lines(await inTmux(80, ['inspect', '--raw', 'multi.tar']));
  expect(raw.join('')).toMatch(/"digest":"sha256:[0-9a-f]{64}"/);
}, 60_000);
