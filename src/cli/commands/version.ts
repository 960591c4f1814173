import { defineCommand } from '../command.js';
import { print } from '../flags.js';
import { versionInfo, versionText } from '../berth-version.js';

export const versionCommand = defineCommand<object>({
  command: 'version',
  describe: "Print berth's version, node's, and the platform (also berth --version)",
  builder: (y) => y as never,
  async handler(args, io) {
    print(io, args.json, versionInfo(), versionText());
  },
});
