import { resolve } from 'node:path';
import { pruneCacheWorkFolders } from '../../blob/work-folders.js';
import { UsageError } from '../../errors.js';
import { defaultCacheDir } from '../../registry/cache.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';

interface CacheArgs {
  action: string;
  'cache-dir'?: string;
}

export const cacheCommand = defineCommand<CacheArgs>({
  command: 'cache <action>',
  describe: "Tidy berth's cache folder. prune: remove the work folders of berth runs that have ended (killed with -9, or a crashed machine)",
  builder: (y) =>
    y
      .positional('action', { choices: ['prune'] as const, describe: 'prune' })
      .option('cache-dir', { type: 'string', describe: "berth's cache (default $XDG_CACHE_HOME/berth or ~/.cache/berth)" }) as never,
  async handler(args, io) {
    if (args.action !== 'prune') throw new UsageError('BAD_FLAG', `cache: unknown action ${args.action}; give prune`);
    if (args['cache-dir'] === '') throw new UsageError('BAD_FLAG', '--cache-dir: is empty');
    const dir = args['cache-dir'] !== undefined ? resolve(io.cwd, args['cache-dir']) : defaultCacheDir(io.env);
    const workFolders = await pruneCacheWorkFolders(dir);
    io.stderr.write(`berth: ${dir}: removed ${workFolders.length} work folder${workFolders.length === 1 ? '' : 's'} of ended runs\n`);
    if (args.json) print(io, true, { cacheDir: dir, workFolders }, '');
  },
});
