import { resolve } from 'node:path';
import { collectStatus } from '../../status/collect.js';
import { pickEnv } from '../../status/env.js';
import { buildDate, formatStatus, statusEntries } from '../../status/status.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';

interface StatusArgs {
  config?: string;
}

export const statusCommand = defineCommand<StatusArgs>({
  command: 'status',
  describe: 'Print the workspace status keys Bazel stamps with (STABLE_DOCKER_TAG, STABLE_RELEASE_VERSION, ...)',
  builder: (y) => y.option('config', { type: 'string', describe: 'berth.yaml to read (default: ./berth.yaml, when present)' }) as never,
  async handler(args, io) {
    const status = await collectStatus({ cwd: io.cwd, env: io.env, ...(args.config !== undefined ? { configFile: resolve(io.cwd, args.config) } : {}) });
    for (const w of status.warnings) io.stderr.write(`berth: warning: ${w}\n`);
    const date = buildDate(pickEnv(io.env));
    print(io, args.json, Object.fromEntries(statusEntries(status, { buildDate: date })), formatStatus(status, { buildDate: date }));
  },
});
