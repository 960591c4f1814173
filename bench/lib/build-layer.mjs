#!/usr/bin/env node
// Builds one gzipped layer holding FILE at /app/file, through berth's blob layer (dist/), and
// prints what it built and what it cost as one JSON line. A stand-in for `berth build` until
// that command exists. Tuning knobs (for experiments only): BERTH_GZIP_LEVEL,
// BERTH_GZIP_CHUNK_SIZE, BERTH_GZIP_CONCURRENCY.
import { collectFileEntries } from '../../dist/blob/files.js';
import { buildLayer } from '../../dist/blob/layer.js';

const [file, outPath] = process.argv.slice(2);
if (!file || !outPath) {
  console.error('usage: build-layer.mjs FILE OUT.tar.gz');
  process.exit(2);
}
const fromEnv = (name) => (process.env[name] ? { [name]: Number(process.env[name]) } : {});
const { BERTH_GZIP_LEVEL: level, BERTH_GZIP_CHUNK_SIZE: chunkSize, BERTH_GZIP_CONCURRENCY: concurrency } = {
  ...fromEnv('BERTH_GZIP_LEVEL'),
  ...fromEnv('BERTH_GZIP_CHUNK_SIZE'),
  ...fromEnv('BERTH_GZIP_CONCURRENCY'),
};
const gzip = Object.fromEntries(Object.entries({ level, chunkSize, concurrency }).filter(([, v]) => v !== undefined));

const start = performance.now();
const entries = await collectFileEntries([{ src: file, dest: '/app/file' }], { mtime: 0 });
const layer = await buildLayer(entries, { outPath, ...gzip });
const seconds = (performance.now() - start) / 1000;
console.log(JSON.stringify({ ...layer, seconds: Number(seconds.toFixed(3)), maxRssKiB: process.resourceUsage().maxRSS }));
