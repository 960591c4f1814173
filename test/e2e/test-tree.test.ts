/**
 * test/ mirrors src/: a folder of tests names the src/ folder it tests, or is one of the
 * shared places (`e2e` for suites that cross folders, `helpers`, `fixtures`). No test file
 * sits at the top of test/.
 */
import { expect, test } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

const SHARED = ['e2e', 'helpers', 'fixtures'];

test('every folder of test/ names a folder of src/ (or e2e, helpers, fixtures)', () => {
  const src = new Set(readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name));
  const stray = readdirSync(join(REPO_ROOT, 'test'), { withFileTypes: true })
    .filter((e) => (e.isDirectory() ? !src.has(e.name) && !SHARED.includes(e.name) : e.name.endsWith('.ts')))
    .map((e) => e.name);
  expect(stray).toEqual([]);
});

test('the check sees test/ and src/: the folders it knows are there', () => {
  const dirs = readdirSync(join(REPO_ROOT, 'test'));
  for (const d of ['e2e', 'helpers', 'cli', 'builder']) expect(dirs).toContain(d);
});
