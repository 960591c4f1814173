/**
 * The parts of yargs berth uses beyond its typings (src/cli/yargs-internals.ts): these fail
 * when a yargs update moves them, before a user sees a slower help or a wrong error.
 */
import { expect, test } from '@jest/globals';
import yargs from 'yargs';
import { skipHelpCache } from '../../src/cli/yargs-internals.js';

interface Usage {
  cacheHelpMessage(): void;
  help(): string;
}

function usageOf(parser: object): Usage {
  return (parser as { getInternalMethods(): { getUsageInstance(): Usage } }).getInternalMethods().getUsageInstance();
}

/** Runs `berth go` on a yargs like main.ts's and counts how often yargs renders the help. */
async function renderingsOfHelp(skip: boolean): Promise<{ ran: boolean; renderings: number; skipped: boolean }> {
  let ran = false;
  const parser = yargs(['go'])
    .scriptName('berth')
    .strict()
    .exitProcess(false)
    .help()
    .command('go', 'a command', (y) => y.option('flag', { type: 'string' }), () => {
      ran = true;
    });
  const usage = usageOf(parser);
  let renderings = 0;
  const help = usage.help.bind(usage);
  usage.help = () => {
    renderings += 1;
    return help();
  };
  const skipped = skip ? skipHelpCache(parser) : false;
  await parser.parseAsync(['go'], {}, () => {});
  return { ran, renderings, skipped };
}

test("yargs still renders the help after each command through the private hook berth replaces (cacheHelpMessage)", async () => {
  // Without berth's change yargs renders the help once after the command: the hook is called.
  expect(await renderingsOfHelp(false)).toEqual({ ran: true, renderings: 1, skipped: false });
  // With it, the command runs and no help is rendered.
  expect(await renderingsOfHelp(true)).toEqual({ ran: true, renderings: 0, skipped: true });
});

test('yargs getOptions() has the fields main.ts reads: declared keys, aliases, hidden and number flags', () => {
  const y = yargs([])
    .option('level', { type: 'number', alias: 'l' })
    .option('secret-thing', { type: 'string', hidden: true })
    .option('name', { type: 'string' });
  const o = y.getOptions();
  expect(Object.keys(o.key)).toEqual(expect.arrayContaining(['level', 'secret-thing', 'name']));
  expect(o.alias.level).toEqual(['l']);
  expect(o.hiddenOptions).toEqual(expect.arrayContaining(['secret-thing']));
  expect(o.number).toContain('level');
  expect(o.number).not.toContain('name');
});
