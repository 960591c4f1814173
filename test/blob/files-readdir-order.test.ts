import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { tempDir } from './helpers.js';

// readdir order on a real disk can't be chosen, so this file swaps in a readdir whose order it controls.
const realFs = await import('node:fs/promises');
let order: 'as-is' | 'reversed' | 'shuffled' = 'as-is';
let calls = 0;
jest.unstable_mockModule('node:fs/promises', () => ({
  ...realFs,
  readdir: async (path: string) => {
    calls++;
    const names = await realFs.readdir(path);
    if (order === 'reversed') return names.reverse();
    if (order === 'shuffled') return names.map((n, i) => [n, (i * 7919) % 101] as const).sort((a, b) => a[1] - b[1]).map((x) => x[0]);
    return names;
  },
}));
const { collectFileEntries, parseFileSpec } = await import('../../src/blob/files.js');

describe('collectFileEntries and readdir order', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    for (let i = 0; i < 30; i++) {
      await mkdir(join(dir, 'src', `d${i % 4}`), { recursive: true });
      await writeFile(join(dir, 'src', `d${i % 4}`, `f${i}`), `content ${i}`);
    }
  });
  afterAll(() => cleanup());

  it('gives the same entries whatever order readdir returns names in', async () => {
    const results = [];
    for (const o of ['as-is', 'reversed', 'shuffled'] as const) {
      order = o;
      calls = 0;
      results.push(await collectFileEntries([parseFileSpec('src:/app', dir)], { mtime: 0 }));
      expect(calls).toBe(5);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(results[0]!.map((e) => e.path)).toEqual(results[0]!.map((e) => e.path).sort());
  });
});
