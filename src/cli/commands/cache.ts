import { resolve } from 'node:path';
import { pruneCacheWorkFolders } from '../../util/work-folders.js';
import { DEFAULT_CACHE_LIMIT, pruneSteps } from '../../builder/steps/index.js';
import { parseSize } from '../../util/human-bytes.js';
import { UsageError } from '../../errors.js';
import { defaultCacheDir } from '../../registry/blob-cache.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';

interface CacheArgs {
  action: 'prune';
  'max-size'?: string;
  all: boolean;
  'cache-dir'?: string;
}

const human = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

export const cacheCommand = defineCommand<CacheArgs>({
  command: 'cache <action>',
  describe:
    "Tidy berth's cache folder. prune: remove least recently used RUN steps and cache mounts until the rest fits --max-size, and the work folders of berth runs that have ended (killed with -9, or a crashed machine)",
  builder: (y) =>
    y
      .positional('action', { choices: ['prune'] as const, demandOption: true, describe: 'prune: fit the step cache to --max-size and sweep dead runs’ work folders' })
      .option('max-size', { type: 'string', describe: `what may stay, e.g. 2GB, 500MiB (default ${human(DEFAULT_CACHE_LIMIT)}, or $BERTH_CACHE_MAX_SIZE)` })
      .option('all', { type: 'boolean', default: false, describe: 'remove every step and cache mount' })
      .option('cache-dir', { type: 'string', describe: "berth's cache folder (default $XDG_CACHE_HOME/berth or ~/.cache/berth)" }) as never,
  async handler(args, io) {
    if (args['cache-dir'] === '') throw new UsageError('BAD_FLAG', '--cache-dir: is empty');
    const text = args['max-size'] ?? io.env.BERTH_CACHE_MAX_SIZE;
    let limit = DEFAULT_CACHE_LIMIT;
    if (args.all) {
      if (args['max-size'] !== undefined) throw new UsageError('BAD_FLAG', '--all and --max-size: give one');
      limit = 0;
    } else if (text !== undefined) {
      const n = parseSize(text);
      if (n === undefined) throw new UsageError('BAD_FLAG', `${args['max-size'] !== undefined ? '--max-size' : 'BERTH_CACHE_MAX_SIZE'}: "${text}" is not a size (such as 2GB or 500MiB)`);
      limit = n;
    }
    const dir = args['cache-dir'] !== undefined ? resolve(io.cwd, args['cache-dir']) : defaultCacheDir(io.env);
    const workFolders = await pruneCacheWorkFolders(dir);
    const r = await pruneSteps(dir, limit);
    io.stderr.write(`berth: cache prune: removed ${r.removed} step${r.removed === 1 ? '' : 's'} or mounts (${human(r.freed)}); ${r.kept} kept, ${human(r.size)}\n`);
    io.stderr.write(`berth: ${dir}: removed ${workFolders.length} work folder${workFolders.length === 1 ? '' : 's'} of ended runs\n`);
    print(io, args.json, { ...r, limit, cacheDir: dir, workFolders }, `${r.size}`);
  },
});
