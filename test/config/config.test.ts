/** The berth.yaml loader and its schema language (src/config). */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/tools.js';
import { loadConfig, parseConfig } from '../../src/config/read-config.js';
import { toLocated } from '../../src/config/yaml-tree.js';
import { boolean, integer, list, oneOf, section, string } from '../../src/config/schema.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-config-'));
});
afterAll(() => cleanup());

describe('berth.yaml', () => {
  test('every key it knows today', async () => {
    const cfg = await parseConfig('registry: ghcr.io/acme\npush-registry: localhost:5000/acme\ntags:\n  - "{{ .Version }}"\n  - sha=v{{ .Date }}-{{ .ShortSHA }}\n  - latest\n  - 1.0\n', 'berth.yaml');
    expect(cfg).toEqual({ registry: 'ghcr.io/acme', 'push-registry': 'localhost:5000/acme', tags: ['{{ .Version }}', 'sha=v{{ .Date }}-{{ .ShortSHA }}', 'latest', '1.0'] });
  });

  test('empty files, comments only, and empty values are fine', async () => {
    expect(await parseConfig('', 'berth.yaml')).toEqual({});
    expect(await parseConfig('# nothing yet\n', 'berth.yaml')).toEqual({});
    expect(await parseConfig('registry:\ntags:\n', 'berth.yaml')).toEqual({});
  });

  test('a missing file is an empty config', async () => {
    expect(await loadConfig(join(dir, 'absent.yaml'))).toEqual({});
  });

  test('errors name the file as given, the line and the key path', async () => {
    await expect(parseConfig('tags:\n  - ok\n  - "bad tag"\n', 'conf/berth.yaml')).rejects.toThrow(/^conf\/berth\.yaml:3: tags\[1\]: "bad tag" is not a valid tag/);
    await expect(parseConfig('registry: 5\n', 'berth.yaml')).rejects.toThrow(/^berth\.yaml:1: registry: want a string, found number 5$/);
    await expect(parseConfig('registry: ghcr.io/acme/\n', 'berth.yaml')).rejects.toThrow(/ends with "\/"/);
    await expect(parseConfig('registry: ghcr.io/acme:v1\n', 'berth.yaml')).rejects.toThrow(/holds a tag or digest/);
  });

  test('aliases resolve; a key must be a plain word', async () => {
    expect(await parseConfig('registry: &r gcr.io/x\npush-registry: *r\n', 'berth.yaml')).toEqual({ registry: 'gcr.io/x', 'push-registry': 'gcr.io/x' });
  });

  test('the old camelCase pushRegistry is read as push-registry, with a deprecation line', async () => {
    expect(await parseConfig('registry: gcr.io/x\npushRegistry: gcr.io/y\n', 'berth.yaml')).toEqual({
      registry: 'gcr.io/x',
      'push-registry': 'gcr.io/y',
      deprecations: ['berth.yaml:2: pushRegistry is deprecated; write push-registry'],
    });
    await expect(parseConfig('? [a, b]\n: 1\n', 'berth.yaml')).rejects.toThrow(/^berth\.yaml:1: every key must be a plain word$/);
  });

  test('the parsed config is cached beside the status cache, keyed on the text, schema and build', async () => {
    const file = join(dir, 'berth.yaml');
    const cacheDir = join(dir, 'cache');
    await writeFile(file, 'registry: quay.io/a\n');
    expect(await loadConfig(file, { cacheDir, buildId: 'b1', display: 'berth.yaml' })).toEqual({ registry: 'quay.io/a' });
    const cached = JSON.parse(await readFile(join(cacheDir, 'config.json'), 'utf8')) as { text: string; build: string };
    expect(cached.text).toBe('registry: quay.io/a\n');
    // a cache entry is used only for the same text and build: tamper with it to see which is read
    await writeFile(join(cacheDir, 'config.json'), JSON.stringify({ ...cached, config: { registry: 'from.cache/x' } }));
    expect(await loadConfig(file, { cacheDir, buildId: 'b1', display: 'berth.yaml' })).toEqual({ registry: 'from.cache/x' });
    expect(await loadConfig(file, { cacheDir, buildId: 'b2', display: 'berth.yaml' })).toEqual({ registry: 'quay.io/a' });
    await writeFile(file, 'registry: quay.io/b\n');
    expect(await loadConfig(file, { cacheDir, buildId: 'b2', display: 'berth.yaml' })).toEqual({ registry: 'quay.io/b' });
    // a broken file is never cached
    await writeFile(file, 'registry: [\n');
    await expect(loadConfig(file, { cacheDir, buildId: 'b2', display: 'berth.yaml' })).rejects.toThrow(/not valid YAML/);
    expect(JSON.parse(await readFile(join(cacheDir, 'config.json'), 'utf8')).text).toBe('registry: quay.io/b\n');
    expect(existsSync(cacheDir)).toBe(true);
  });
});

describe('the schema language, for the sections later issues add', () => {
  const spec = section({
    name: string(),
    replicas: integer({ min: 1, max: 10 }),
    push: boolean(),
    format: oneOf(['oci', 'docker'] as const),
    platforms: list(string()),
    nested: section({ inner: string() }),
  });
  const read = async (text: string) => spec.read(await toLocated(text, 'f.yaml'), { file: 'f.yaml', path: '' });

  test('reads each kind', async () => {
    expect(await read('name: x\nreplicas: 3\npush: true\nformat: docker\nplatforms: [linux/amd64, linux/arm64]\nnested:\n  inner: y\n')).toEqual({
      name: 'x',
      replicas: 3,
      push: true,
      format: 'docker',
      platforms: ['linux/amd64', 'linux/arm64'],
      nested: { inner: 'y' },
    });
  });

  test.each([
    ['replicas: 0\n', /^f\.yaml:1: replicas: want a number from 1 to 10, found 0$/],
    ['replicas: two\n', /^f\.yaml:1: replicas: want a whole number, found the string "two"$/],
    ['push: yes\n', /^f\.yaml:1: push: want true or false, found the string "yes"$/],
    ['format: tar\n', /^f\.yaml:1: format: want one of oci, docker, found the string "tar"$/],
    ['platforms: linux/amd64\n', /^f\.yaml:1: platforms: want a list of strings, found the string "linux\/amd64"$/],
    ['nested:\n  inner: y\n  other: z\n', /^f\.yaml:3: nested\.other: unknown key \(known here: inner\)$/],
    ['nested: 1\n', /^f\.yaml:1: nested: want a mapping of keys \(inner\), found number 1$/],
  ])('%j', async (text, message) => {
    await expect(read(text)).rejects.toThrow(message);
  });

  test('the shape describes the schema for the cache key', () => {
    expect(spec.shape).toBe('{name:string,replicas:integer(1,10),push:boolean,format:oneOf(oci|docker),platforms:list(string),nested:{inner:string}}');
  });
});
