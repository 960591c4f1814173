/** src/util/human-bytes.ts: sizes as berth prints them and as users give them (--max-size, BERTH_CACHE_MAX_SIZE). */
import { expect, test } from '@jest/globals';
import { humanBytes, parseSize } from '../../src/util/human-bytes.js';

test('humanBytes: bytes below 1 KiB exact, above with one decimal in the largest unit', () => {
  expect(humanBytes(0)).toBe('0 B');
  expect(humanBytes(1023)).toBe('1023 B');
  expect(humanBytes(1024)).toBe('1.0 KiB');
  expect(humanBytes(1.5 * 1024 ** 2)).toBe('1.5 MiB');
  expect(humanBytes(10 * 1024 ** 3)).toBe('10.0 GiB');
  expect(humanBytes(3 * 1024 ** 5)).toBe('3072.0 TiB');
});

test('parseSize: plain bytes, k/m/g/t as powers of 1024 with or without B or iB; anything else undefined', () => {
  expect(parseSize('1000000')).toBe(1_000_000);
  expect(parseSize('10GB')).toBe(10 * 1024 ** 3);
  expect(parseSize(' 512MiB ')).toBe(512 * 1024 ** 2);
  expect(parseSize('1.5k')).toBe(1536);
  expect(parseSize('2 t')).toBe(2 * 1024 ** 4);
  for (const bad of ['', 'GB', '-1G', '1.G', '10 PB', '1e9', '5 bytes']) expect(parseSize(bad)).toBeUndefined();
});
