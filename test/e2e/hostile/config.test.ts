/**
 * Hostile configuration files (issue 20, item 1): alias bombs, deep nesting, huge files, many
 * keys, binary bytes. Through every file berth reads (berth.yaml by `status`, release.yaml by
 * `release`, variants.yaml by `images`): exit 2, one line naming the file, quickly, nothing
 * written. A synchronous parse cannot be interrupted by a signal, so its work must be bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tools.js';
import { listTree, runBerth } from './helpers.js';
import { toLocated, MAX_CONFIG_BYTES } from '../../../src/config/yaml-tree.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-hostile-config-'));
});
afterAll(() => cleanup());

/** The 324-byte bomb: 9 levels of 9 aliases each, 9^9 values if expanded. */
function aliasBomb(): string {
  const names = 'abcdefghi';
  let s = `a: &a ["x","x","x","x","x","x","x","x","x"]\n`;
  for (let i = 1; i < names.length; i++) s += `${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]\n`;
  return s;
}

let manyKeys = '';
for (let i = 0; manyKeys.length < MAX_CONFIG_BYTES - 100; i++) manyKeys += `k${i}: 1\n`;

export const HOSTILE_CONFIGS: [string, string, RegExp][] = [
  ['an alias bomb', aliasBomb(), /more than \d+ values once its aliases are expanded/],
  // The parser resolves each alias by walking the whole document: this took a minute.
  ['15,000 aliases in 45 KB', `a: &a [x, y]\nb: [${Array(15_000).fill('*a').join(',')}]\n`, /more than \d+ values once its aliases are expanded/],
  ['flow lists nested 30,000 deep', `a: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`, /nested too deeply/],
  ['flow maps nested 12,000 deep', `a: ${'{a: '.repeat(12_000)}${'}'.repeat(12_000)}\n`, /nested too deeply/],
  ['compact lists nested 30,000 deep', `${'- '.repeat(30_000)}x\n`, /nested too deeply/],
  ['block maps nested 300 deep', Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k:\n`).join(''), /nested too deeply/],
  ['a 4 MiB file', `a: "${'x'.repeat(4 << 20)}"\n`, /too large for a configuration file/],
  ['binary bytes', `a: 1\n\u0001\u0002\u0003\u001b[2J\ufffd\ufffd\n`, /not UTF-8 text/],
];

describe('the shared config parser', () => {
  test.each(HOSTILE_CONFIGS)('%s: one line naming the file', async (_name, text, why) => {
    await expect(toLocated(text, 'conf/x.yaml')).rejects.toThrow(why);
    await expect(toLocated(text, 'conf/x.yaml')).rejects.toThrow(/^conf\/x\.yaml:\d+: [^\n]*$/);
  });

  test('a file just under the size limit with many keys parses (unique keys are not checked quadratically)', async () => {
    const tree = await toLocated(manyKeys, 'x.yaml');
    expect(tree.kind).toBe('map');
  });

  test('anchors and aliases of a normal size still work, and brackets inside quotes do not count as nesting', async () => {
    const tree = await toLocated(`a: &r [x.io/a]\nb: *r\nc: "${'['.repeat(200)}"\n`, 'x.yaml');
    expect(tree).toMatchObject({ kind: 'map', entries: [{ key: 'a' }, { key: 'b', value: { kind: 'seq', items: [{ value: 'x.io/a' }] } }, { key: 'c' }] });
  });

  test('a duplicate key is still refused, on its line', async () => {
    await expect(toLocated('a: 1\nb: 2\na: 3\n', 'x.yaml')).rejects.toThrow(/^x\.yaml:3: not valid YAML: Map keys must be unique/);
  });

  test('control characters of a key are escaped in the error line', async () => {
    await expect(toLocated('registry: 1\n"\\e[2Jbad": 1\n', 'x.yaml')).resolves.toBeDefined();
    const { parseConfig } = await import('../../../src/config/read-config.js');
    const err = await parseConfig('"\\e[2Jbad": 1\n', 'berth.yaml').catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/^berth\.yaml:1: \\x1b\[2Jbad: unknown key/);
  });
});

// Bounded time: the issue's figure is 1 s for `berth status`; the bound leaves room for a busy CI machine.
const BOUND_MS = 5_000;

describe.each([
  ['berth.yaml', 'berth status', (dir: string) => join(dir, 'berth.yaml'), ['status']],
  ['release.yaml', 'berth release --config release.yaml --dry-run', (dir: string) => join(dir, 'release.yaml'), ['release', '--config', 'release.yaml', '--dry-run']],
  ['images/app/variants.yaml', 'berth images build app', (dir: string) => join(dir, 'images', 'app', 'variants.yaml'), ['images', 'build', 'app']],
] as const)('%s through `%s`', (display, _cmd, where, argv) => {
  test.each(HOSTILE_CONFIGS)('%s: exit 2, one line naming the file, bounded time, nothing written', async (name, text) => {
    const dir = join(root, `${display.replace(/\W/g, '_')}-${name.replace(/\W/g, '_')}`);
    await mkdir(join(dir, 'images', 'app'), { recursive: true });
    await writeFile(join(dir, 'images', 'app', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
    await writeFile(where(dir), text);
    const before = await listTree(dir);
    const r = await runBerth([...argv], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, '.cache-outside') } });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.lines.filter((l) => !l.includes('warning:'))).toHaveLength(1);
    expect(r.lines.at(-1)).toContain(`${display}:`);
    expect(r.ms).toBeLessThan(BOUND_MS);
    expect((await listTree(dir)).filter((p) => !p.startsWith('.cache-outside'))).toEqual(before);
  });
});
