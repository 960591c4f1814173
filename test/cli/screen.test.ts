/**
 * The screen's pieces in-process: fitting a line to a width, the plain lines a long step
 * prints without a terminal, and sizes as people read them in the transfer lines. (In a real
 * terminal: test/cli/progress-tty.test.ts.)
 */
import { expect, test } from '@jest/globals';
import { progressRenderer } from '../../src/cli/progress.js';
import { busy, fitToWidth } from '../../src/cli/screen.js';
import { berthBin } from '../helpers/cli.js';

const digest = `sha256:${'ab12'.repeat(16)}`;

test('a line that fits is left whole; else digests are shortened; else it is wrapped at a word', () => {
  expect(fitToWidth(`berth: pushed ${digest}`, 100)).toBe(`berth: pushed ${digest}`);
  expect(fitToWidth(`berth: pushed ${digest} -> x`, 60)).toBe('berth: pushed sha256:ab12ab12ab12 -> x');
  const wrapped = fitToWidth(`berth: pushed ${digest} -> quay.io/some/long/repository/name:v1.2.3 (4 uploaded, 0 mounted, 0 existing)`, 50);
  expect(wrapped.split('\n').every((l) => l.length < 50)).toBe(true);
  expect(wrapped.split('\n').slice(1).every((l) => l.startsWith('    '))).toBe(true);
  expect(wrapped.replace(/\n\s+/g, ' ')).toBe('berth: pushed sha256:ab12ab12ab12 -> quay.io/some/long/repository/name:v1.2.3 (4 uploaded, 0 mounted, 0 existing)');
});

test('without a terminal a long step prints a plain line now and then, and nothing once done', async () => {
  let err = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: '/' };
  const result = await busy(io, 'building out/app.tar', () => new Promise((r) => setTimeout(() => r(42), 130)), { intervalMs: 50 });
  expect(result).toBe(42);
  const lines = err.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThanOrEqual(1);
  for (const l of lines) expect(l).toMatch(/^berth: building out\/app\.tar: still working, \d+ s$/);
  const after = err;
  await new Promise((r) => setTimeout(r, 120));
  expect(err).toBe(after);
});

test('small blobs are counted in B and KiB, not "0.0 MiB"', () => {
  let out = '';
  const p = progressRenderer({ write: (s: string) => (out += s) }, { tty: false, verb: 'pushing' });
  p.reporter({ type: 'plan', group: 'linux/amd64', blobs: 2, bytes: 628 + 1430 });
  p.reporter({ type: 'blob', group: 'linux/amd64', digest: digest as never, size: 628, how: 'uploaded' });
  p.reporter({ type: 'blob', group: 'linux/amd64', digest: `sha256:${'cd34'.repeat(16)}` as never, size: 1430, how: 'uploaded' });
  p.done();
  expect(out).toBe(['berth: pushing linux/amd64: 2 blobs, 2.0 KiB', 'berth: pushing linux/amd64: sha256:ab12ab12ab12 628 B uploaded', 'berth: pushing linux/amd64: sha256:cd34cd34cd34 1.4 KiB uploaded', 'berth: pushing linux/amd64: 2 blobs, 2.0 KiB (2 uploaded)', ''].join('\n'));
});

test('--quiet: one summary line per image, nothing else', () => {
  let out = '';
  const p = progressRenderer({ write: (s: string) => (out += s) }, { tty: false, quiet: true, verb: 'pushing' });
  p.reporter({ type: 'plan', group: 'linux/amd64', blobs: 1, bytes: 628 });
  p.reporter({ type: 'retry', what: `blob ${digest}`, attempt: 1, delayMs: 100, reason: 'a 503' } as never);
  p.reporter({ type: 'blob', group: 'linux/amd64', digest: digest as never, size: 628, how: 'uploaded' });
  p.done();
  expect(out).toBe('berth: pushing linux/amd64: 1 blobs, 628 B (1 uploaded)\n');
});

test("sign's images positional is required, with no [default: []]", async () => {
  const help = (await berthBin(['sign', '--help'])).stdout;
  expect(help).toMatch(/images {2}.*\n.*\[array\] \[required\]\n/);
  expect(help).not.toContain('[default: []]');
});
