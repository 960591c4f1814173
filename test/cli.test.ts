import { expect, test } from '@jest/globals';
import { berth } from './helpers/cli.js';

test('an unknown command says so and suggests one, exit 2', async () => {
  const r = await berth(['bild']);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('berth: unknown command "bild"; did you mean build? (see berth --help)\n');
});

test('--help lists every command and exits 0', async () => {
  const r = await berth(['--help']);
  expect(r.code).toBe(0);
  for (const c of ['build', 'inspect', 'base', 'status', 'tags', 'push', 'pull', 'copy']) expect(r.stdout).toMatch(new RegExp(`berth ${c}\\b`));
});

test('--json makes errors JSON on stdout too', async () => {
  const r = await berth(['build', '--base', 'static', '--platform', 'linux/nope', '--output', '/tmp/x.tar', '--json']);
  expect(r.code).toBe(2);
  expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'BAD_PLATFORM', message: expect.stringContaining('unknown architecture "nope"') } });
});
