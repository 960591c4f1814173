import { UsageError } from '../../errors.js';
import { checkHostPort } from '../../config/index.js';
import { eraseCredential, normaliseHost, storeCredential } from '../../registry/credentials.js';
import { withRegistries } from '../../registry/pool.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';
import { readStdin, registryFlags, registryOptions, type RegistryArgs } from '../registry-flags.js';

interface LoginArgs extends RegistryArgs {
  registry: string;
  username?: string;
  'password-stdin': boolean;
}

/** REGISTRY as `docker login` takes it: a host[:port], a scheme and path dropped. */
function registryHost(text: string): string {
  const host = normaliseHost(text);
  const why = checkHostPort(host);
  if (why) throw new UsageError('BAD_FLAG', `registry: ${why}`);
  return host;
}

export const loginCommand = defineCommand<LoginArgs>({
  command: 'login <registry>',
  describe: "Log in to a registry, as docker login: checked against it, then kept in docker's config.json (or the credential helper it names)",
  builder: (y) =>
    registryFlags(y.positional('registry', { type: 'string', demandOption: true, describe: 'host[:port], e.g. quay.io or 127.0.0.1:5000' }))
      .option('username', { alias: 'u', type: 'string', describe: 'the user' })
      .option('password-stdin', { type: 'boolean', default: false, describe: 'read the password from stdin (berth takes no password argument and does not prompt)' }) as never,
  async handler(args, io) {
    const host = registryHost(args.registry);
    if (args.creds !== undefined) throw new UsageError('BAD_FLAG', 'login: --creds is for other commands; give -u USER --password-stdin');
    if (args.username === undefined || args.username === '') throw new UsageError('BAD_FLAG', 'login: give the user with -u USER');
    if (!args['password-stdin']) throw new UsageError('BAD_FLAG', 'login: give --password-stdin and pipe the password in (e.g. echo "$PASSWORD" | berth login REGISTRY -u USER --password-stdin)');
    const password = await readStdin(io, '--password-stdin');
    const credential = { username: args.username, password, source: 'berth login' };
    const scheme = await withRegistries({ ...(await registryOptions(args, io)), credential: async () => credential }, (r) => r.client(host).checkLogin());
    const where = await storeCredential(host, args.username, password, io.env);
    io.stderr.write(`berth: logged in to ${host} as ${args.username}${scheme === 'none' ? ' (it asks for no login)' : ''}; kept in ${where}\n`);
    print(io, args.json, { registry: host, username: args.username, store: where }, `Login Succeeded`);
  },
});

export const logoutCommand = defineCommand<{ registry: string }>({
  command: 'logout <registry>',
  describe: "Forget the login for a registry, as docker logout (docker's config.json or its credential helper)",
  builder: (y) => y.positional('registry', { type: 'string', demandOption: true, describe: 'host[:port]' }) as never,
  async handler(args, io) {
    const host = registryHost(args.registry);
    const where = await eraseCredential(host, io.env);
    io.stderr.write(where ? `berth: removed the login for ${host} from ${where}\n` : `berth: not logged in to ${host}\n`);
    if (args.json) print(io, true, { registry: host, removedFrom: where ?? null }, '');
  },
});
