/**
 * The tests type-check as the sources do: jest runs them through swc, which strips types
 * without checking them, so a test drifting from the API it calls would otherwise go unseen.
 */
import { expect, test } from '@jest/globals';
import { execa } from 'execa';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

test('tsc -p tsconfig.test.json: no type errors in src/ or test/', async () => {
  const r = await execa(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.test.json', '--noEmit'], { cwd: REPO_ROOT, reject: false, all: true });
  expect({ code: r.exitCode, errors: r.all.split('\n').filter((l) => l.includes('error TS')) }).toEqual({ code: 0, errors: [] });
}, 300_000);
