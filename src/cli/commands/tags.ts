import { resolve, join } from 'node:path';
import { CONFIG_FILE, loadConfig } from '../../config/read-config.js';
import { checkSkippedTags, computeTags } from '../../tags/compute.js';
import { collectTagContext, contextLabels } from '../../tags/context.js';
import { parseTagSpec, type TagSpec } from '../../tags/spec.js';
import { defineCommand } from '../command.js';
import { print } from '../flags.js';

interface TagsArgs {
  tag?: string[];
  semver: boolean;
  'release-version'?: string;
  labels: boolean;
  config?: string;
  'skip-empty-tags': boolean;
}

export const tagsCommand = defineCommand<TagsArgs>({
  command: 'tags',
  describe: 'Compute the tags (or, with --labels, the OCI labels) an image gets from git and the CI context',
  builder: (y) =>
    y
      .option('tag', { type: 'string', array: true, describe: 'a tag: name=value, a template ("v{{ .Date }}-{{ .ShortSHA }}") or a plain value; repeatable' })
      .option('semver', { type: 'boolean', default: false, describe: 'expand the release version into v1.2.3, v1.2, v1 and latest' })
      .option('release-version', { type: 'string', describe: 'the release version (default: a pushed tag in CI, else git describe)' })
      .option('labels', { type: 'boolean', default: false, describe: 'print the OCI labels and annotations instead of tags' })
      .option('config', { type: 'string', describe: 'berth.yaml to read default tags from (default: ./berth.yaml)' })
      .option('skip-empty-tags', { type: 'boolean', default: false, describe: 'leave out a template with no value here (pr-{{ .PRNumber }} outside a pull request) instead of failing' }) as never,
  async handler(args, io) {
    const configFile = args.config !== undefined ? resolve(io.cwd, args.config) : join(io.cwd, CONFIG_FILE);
    const config = await loadConfig(configFile, { display: args.config ?? CONFIG_FILE });
    let specs: TagSpec[];
    if (args.tag !== undefined && args.tag.length > 0) specs = args.tag.map((t) => parseTagSpec(t, '--tag'));
    else specs = (config.tags ?? []).map((t, i) => parseTagSpec(t, `${args.config ?? CONFIG_FILE} tags[${i}]`));
    const ctx = await collectTagContext({
      cwd: io.cwd,
      env: io.env,
      repoTags: args.semver,
      ...(args['release-version'] !== undefined ? { version: args['release-version'] } : {}),
    });
    for (const w of config.deprecations ?? []) io.stderr.write(`berth: warning: ${w}\n`);
    for (const w of ctx.warnings) io.stderr.write(`berth: warning: ${w}\n`);
    if (args.labels) {
      const labels = contextLabels(ctx);
      const lines = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
      if (args.json || lines.length > 0) print(io, args.json, labels, lines.join('\n'));
      return;
    }
    const { tags, skipped } = computeTags({ specs, context: ctx, env: io.env, semver: args.semver });
    const origin = args.tag !== undefined && args.tag.length > 0 ? '--tag' : `${args.config ?? CONFIG_FILE} tags`;
    for (const line of checkSkippedTags(skipped, origin, args['skip-empty-tags'])) io.stderr.write(`berth: ${line}\n`);
    if (args.json || tags.length > 0) print(io, args.json, tags, tags.map((t) => t.value).join('\n'));
  },
});
