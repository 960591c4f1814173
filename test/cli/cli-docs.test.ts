/**
 * README and --help agree: every flag a command's --help lists is named in README's section
 * for that command (or in the flags every command of a kind takes, under "## Commands"), and
 * every flag README names there is in the --help of a command the section is about. The walk
 * is over every registered command, so a flag added anywhere is held to it. Also: -h is
 * --help and each help has an Examples: section.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commands } from '../../src/cli/commands/index.js';
import { berth, REPO_ROOT } from '../helpers/cli.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const FLAG = /(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])/g;
const names = commands.map((c) => c.command.split(' ')[0]!);

/** The flags an Options: block lists (hidden ones are not shown). */
async function helpFlags(name: string | undefined): Promise<Set<string>> {
  const r = await berth(name === undefined ? ['--help'] : [name, '--help']);
  expect(r.code).toBe(0);
  const options = r.stdout.slice(r.stdout.indexOf('Options:'), r.stdout.indexOf('Examples:') >= 0 ? r.stdout.indexOf('Examples:') : undefined);
  return new Set([...options.matchAll(/^\s+(?:-\w, )?--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

/** README's `### berth ...` sections: the commands each is about and the flags it names; and the shared part. */
function readmeSections(): { heading: string; commands: string[]; flags: Set<string> }[] {
  const out: { heading: string; commands: string[]; flags: Set<string> }[] = [];
  const commandsPart = README.slice(README.indexOf('## Commands'), README.indexOf('\n## ', README.indexOf('## Commands') + 5));
  const parts = commandsPart.split(/^(?=### )/m);
  for (const part of parts) {
    const heading = part.split('\n')[0]!;
    const section = { heading: heading.startsWith('### ') ? heading : '## Commands (every command)', commands: heading.startsWith('### ') ? heading.slice(4).split(/,\s*|\s+/).filter((w) => names.includes(w)) : names, flags: new Set<string>() };
    out.push(section);
    for (const [cmd, flag] of flagsByCommand(part)) {
      if (cmd === undefined) section.flags.add(flag);
      else if (!section.commands.includes(cmd)) out.push({ heading: `${heading} (a line about berth ${cmd})`, commands: [cmd], flags: new Set([flag]) });
      else section.flags.add(flag);
    }
  }
  return out;
}

/**
 * The flags a README text names, each with the command it is written after on its line
 * (`berth build --base` is build's, wherever it is mentioned); flags of other programs in
 * inline code (`git describe --tags`) are not berth's and are left out.
 */
function flagsByCommand(text: string): [string | undefined, string][] {
  const out: [string | undefined, string][] = [];
  for (const line of text.replace(/`(git|docker|podman|skopeo|umoci|cosign|bazel|crane|npm) [^`]*`/g, '').split('\n')) {
    const marks = [...line.matchAll(/\bberth ([a-z]+)/g)].filter((m) => names.includes(m[1]!));
    for (const m of line.matchAll(FLAG)) {
      const before = marks.filter((k) => k.index! < m.index!).at(-1);
      out.push([before?.[1], m[1]!]);
    }
  }
  return out;
}

test('README and --help name the same flags, command by command', async () => {
  const sections = readmeSections();
  const problems: string[] = [];
  const help = new Map<string, Set<string>>();
  for (const n of names) help.set(n, await helpFlags(n));
  // berth's own flags (--version) count wherever README names them.
  const top = await helpFlags(undefined);
  for (const n of names) {
    const inReadme = new Set(sections.filter((s) => s.commands.includes(n)).flatMap((s) => [...s.flags]));
    for (const f of help.get(n)!) if (f !== 'help' && !inReadme.has(f)) problems.push(`berth ${n} --help lists --${f}, which README does not name in ${sections.filter((s) => s.commands.includes(n) && s.heading.startsWith('###') && !s.heading.includes('(a line about')).map((s) => `"${s.heading}"`).join(' or ') || '(no section: add "### berth ' + n + '")'} or under "## Commands"`);
  }
  for (const s of sections) {
    for (const f of s.flags) {
      if (!top.has(f) && !s.commands.some((n) => help.get(n)!.has(f))) problems.push(`README's ${s.heading} names --${f}, which the --help of ${s.commands.map((n) => `berth ${n}`).join(', ')} does not list`);
    }
  }
  expect(problems).toEqual([]);
});

test('every command has a README section', () => {
  const covered = new Set(readmeSections().filter((s) => s.heading.startsWith('###')).flatMap((s) => s.commands));
  expect(names.filter((n) => !covered.has(n))).toEqual([]);
});

describe.each(names)('berth %s', (name) => {
  test('-h is --help, and it has Examples:', async () => {
    const h = await berth([name, '-h']);
    expect(h.code).toBe(0);
    expect(h.stdout).toBe((await berth([name, '--help'])).stdout);
    // A command missing here needs its uses (from README) in EXAMPLES of src/cli/examples.ts.
    expect({ command: name, hasExamples: /\nExamples:\n {2}# .+\n {2}.*\bberth /.test(h.stdout), fix: 'add it to EXAMPLES in src/cli/examples.ts' }).toEqual({ command: name, hasExamples: true, fix: 'add it to EXAMPLES in src/cli/examples.ts' });
  });
});

test('docs/cli.md has a section for every command naming every flag its --help lists, with the exit codes', async () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  const problems: string[] = [];
  for (const n of names) {
    const rows = doc.split('\n').filter((l) => l.startsWith(`| \`berth ${n}`));
    if (rows.length === 0) problems.push(`docs/cli.md: no table row for berth ${n} (| \`berth ${n} ...\` | flags | crane | skopeo | docker buildx imagetools |)`);
    const shared = doc.slice(doc.indexOf('## Conventions'), doc.indexOf('\n## ', doc.indexOf('## Conventions') + 5));
    const named = new Set([...(rows.join('\n') + shared).matchAll(FLAG)].map((m) => m[1]!));
    for (const f of await helpFlags(n)) if (f !== 'help' && !named.has(f)) problems.push(`docs/cli.md: berth ${n} --help lists --${f}, which its table row (or ## Conventions) does not name`);
  }
  expect(problems).toEqual([]);
  expect(doc).toMatch(/`0` done; `2` bad usage or bad input.*`1` an\s+operational failure/s);
});
