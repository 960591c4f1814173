import { dockerfileError } from './dockerfile-error.js';
import { FlagError, takeFlags, type FlagSpec, type ParsedFlags } from './instruction-flags.js';
import type { ArgInstruction, CommandLine, Dockerfile, FromInstruction, Healthcheck, Heredoc, Instruction, Stage } from './instructions.js';
import { splitWords } from './lex.js';
import { DirectiveError, jsonArray, leadingJson, splitDockerfile } from './syntax.js';

/** A problem with one instruction; parseDockerfile adds the file and line. */
class InstructionError extends Error {}

const FLAGS: Record<string, FlagSpec> = {
  FROM: { strings: ['platform'] },
  COPY: { strings: ['from', 'chown', 'chmod'], lists: ['exclude'], bools: ['link', 'parents'] },
  ADD: { strings: ['chown', 'chmod', 'checksum'], lists: ['exclude'], bools: ['link', 'keep-git-dir'] },
  RUN: { passThrough: ['mount', 'network', 'security'] },
  HEALTHCHECK: { strings: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'] },
};

/**
 * Parses a Dockerfile's text (split by `syntax.ts` as BuildKit's parser splits it: directives,
 * continuations, comments, heredocs) into typed instructions grouped in stages. `file` names
 * it in errors: every error is a UsageError `FILE:LINE: INSTRUCTION: what`.
 */
export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  let split: ReturnType<typeof splitDockerfile>;
  try {
    split = splitDockerfile(text);
  } catch (err) {
    if (err instanceof DirectiveError) throw dockerfileError(file, err.line, err.message);
    throw err;
  }
  const { escape } = split;
  const syntax = split.directives.find((d) => d.name === 'syntax')?.value;
  const out: Dockerfile = { file, escape, ...(syntax ? { syntax } : {}), metaArgs: [], stages: [] };
  let stage: Stage | undefined;
  for (const raw of split.instructions) {
    const line = raw.line;
    const keyword = raw.keyword.toUpperCase();
    let instruction: Instruction;
    try {
      if (raw.error !== undefined) throw new InstructionError(raw.error);
      instruction = parseInstruction(keyword, raw.args, line, escape, raw.heredocs);
    } catch (err) {
      // An empty keyword: a line of only the escape character, continued into nothing.
      if (err instanceof InstructionError || err instanceof FlagError) throw dockerfileError(file, line, `${keyword ? `${keyword}: ` : ''}${err.message}`);
      throw err;
    }
    if (instruction.kind === 'FROM') {
      stage = { index: out.stages.length, from: instruction, ...(instruction.name ? { name: instruction.name } : {}), instructions: [] };
      out.stages.push(stage);
    } else if (!stage) {
      if (instruction.kind !== 'ARG') throw dockerfileError(file, line, `${keyword}: no FROM before it; only ARG may come before the first FROM`);
      out.metaArgs.push(instruction);
    } else {
      stage.instructions.push(instruction);
    }
  }
  if (out.stages.length === 0) throw dockerfileError(file, 1, 'the Dockerfile has no FROM');
  return out;
}

/**
 * One instruction from its keyword (upper case) and its folded arguments; `heredocs` are the
 * bodies the splitter read after it (RUN, COPY, ADD, and ONBUILD of one).
 */
export function parseInstruction(keyword: string, args: string, line: number, escape: string, heredocs: Heredoc[] = []): Instruction {
  const text = args.trim();
  const original = `${keyword} ${text}`.trim();
  const base = { line, original };
  const needArgs = (n = 1) => {
    if (text === '') throw new InstructionError(`requires at least ${n} argument${n > 1 ? 's' : ''}`);
  };
  const flagsOf = () => takeFlags(text, FLAGS[keyword] ?? {});
  switch (keyword) {
    case 'FROM': {
      const { flags, rest } = flagsOf();
      const words = splitWords(rest, escape);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toUpperCase() === 'AS')) {
        throw new InstructionError('expects "FROM [--platform=P] IMAGE [AS NAME]"');
      }
      const from: FromInstruction = { kind: 'FROM', ...base, image: words[0]! };
      if (words.length === 3) {
        const name = words[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(name)) throw new InstructionError(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
        from.name = name;
      }
      const platform = flags.strings.get('platform');
      if (platform !== undefined) from.platform = platform;
      return from;
    }
    case 'ARG':
      needArgs();
      return { kind: 'ARG', ...base, args: splitWords(text, escape).map(parseArgWord) } satisfies ArgInstruction;
    case 'ENV':
    case 'LABEL':
      needArgs();
      return { kind: keyword, ...base, pairs: parseKeyValues(text, escape, keyword) };
    case 'COPY':
    case 'ADD': {
      const { flags, rest } = flagsOf();
      const words = parseList(rest).words;
      if (words.length < 2) throw new InstructionError('requires at least two arguments, a source and a destination');
      const copy: Instruction = { kind: keyword, ...base, sources: words.slice(0, -1), dest: words.at(-1)!, heredocs, link: flags.bools.has('link') };
      const exclude = flags.lists.get('exclude');
      if (exclude) copy.exclude = exclude;
      if (flags.bools.has('parents')) copy.parents = true;
      for (const [flag, key] of [['from', 'from'], ['chown', 'chown'], ['chmod', 'chmod'], ['checksum', 'checksum']] as const) {
        const v = flags.strings.get(flag);
        if (v !== undefined) copy[key] = v;
      }
      return copy;
    }
    case 'RUN': {
      const { flags, rest } = flagsOf();
      if (rest === '') throw new InstructionError('requires at least 1 argument');
      return { kind: 'RUN', ...base, command: commandLine(rest), heredocs, flags: flags.written };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind: keyword, ...base, command: commandLine(text) };
    case 'SHELL': {
      const command = commandLine(text);
      if (command.form !== 'exec' || command.argv.length === 0) throw new InstructionError('requires the arguments to be in JSON form, like SHELL ["/bin/sh", "-c"]');
      return { kind: 'SHELL', ...base, argv: command.argv };
    }
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      needArgs();
      return { kind: keyword, ...base, value: text };
    case 'EXPOSE':
    case 'VOLUME': {
      needArgs();
      // EXPOSE takes words only (BuildKit's parseStringsWhitespaceDelimited); VOLUME a JSON array too.
      const list = keyword === 'VOLUME' ? parseList(text) : { words: whitespaceWords(text), json: false };
      if (list.words.length === 0) throw new InstructionError('requires at least 1 argument');
      return { kind: keyword, ...base, values: list.words, json: list.json };
    }
    case 'HEALTHCHECK':
      return { kind: 'HEALTHCHECK', ...base, healthcheck: parseHealthcheck(flagsOf()) };
    case 'ONBUILD': {
      needArgs();
      const trigger = text.split(/\s+/)[0]!.toUpperCase();
      if (trigger === 'ONBUILD') throw new InstructionError("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`);
      parseInstruction(trigger, text.slice(trigger.length), line, escape, heredocs); // the trigger must be valid itself
      return { kind: 'ONBUILD', ...base, expression: text };
    }
    default:
      throw new InstructionError(`unknown instruction "${keyword}"`);
  }
}

function parseArgWord(word: string): { name: string; default?: string } {
  const eq = word.indexOf('=');
  const name = eq < 0 ? word : word.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InstructionError(`"${word}" does not start with a valid name (letters, digits and _)`);
  return eq < 0 ? { name } : { name, default: word.slice(eq + 1) };
}

/** ENV/LABEL: `k=v k2="v 2"`, or the legacy `ENV K some value` (one pair, the rest of the line). */
function parseKeyValues(text: string, escape: string, keyword: string): { key: string; value: string }[] {
  const words = splitWords(text, escape);
  if (!words[0]!.includes('=')) {
    if (words.length < 2) throw new InstructionError(`${keyword} ${words[0]} needs a value (write ${words[0]}=VALUE)`);
    return [{ key: words[0]!, value: text.slice(text.indexOf(words[0]!) + words[0]!.length).trim() }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InstructionError(`"${w}" is not KEY=VALUE; every part must be (mixing the KEY VALUE form is not allowed)`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

/** A JSON array of strings, else words split on white space (BuildKit's parseMaybeJSONToList). */
function parseList(text: string): { words: string[]; json: boolean } {
  const json = execForm(text);
  if (json) return { words: json, json: true };
  return { words: whitespaceWords(text), json: false };
}

function whitespaceWords(text: string): string[] {
  return text.split(/[ \t]+/).filter((w) => w !== '');
}

function commandLine(text: string): CommandLine {
  const argv = execForm(text);
  return argv ? { form: 'exec', argv } : { form: 'shell', text };
}

/**
 * The JSON array of strings `text` is, else undefined (the shell form); a JSON array holding
 * anything but strings is an error, as BuildKit's parseJSON has it (errDockerfileNotStringArray),
 * not the shell form.
 */
function execForm(text: string): string[] | undefined {
  const argv = jsonArray(text);
  if (argv) return argv;
  if (Array.isArray(leadingJson(text))) throw new InstructionError('when using JSON array syntax, arrays must be comprised of strings only');
  return undefined;
}

function parseHealthcheck({ flags, rest }: { flags: ParsedFlags; rest: string }): Healthcheck {
  const words = rest.split(/\s+/);
  const type = words[0]?.toUpperCase();
  if (type === 'NONE') {
    if (words.length > 1 || flags.written.length) throw new InstructionError('HEALTHCHECK NONE takes no other arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw new InstructionError('expects "HEALTHCHECK [OPTIONS] CMD command" or "HEALTHCHECK NONE"');
  const cmd = rest.slice(words[0]!.length).trim();
  if (cmd === '') throw new InstructionError('HEALTHCHECK CMD needs a command');
  const command = commandLine(cmd);
  const hc: Healthcheck = { Test: command.form === 'exec' ? ['CMD', ...command.argv] : ['CMD-SHELL', command.text] };
  const durations = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']] as const;
  for (const [flag, key] of durations) {
    const v = flags.strings.get(flag);
    if (v !== undefined) hc[key] = parseDuration(v, flag);
  }
  const retries = flags.strings.get('retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries) || Number(retries) < 1) throw new InstructionError(`--retries must be a whole number of at least 1, not "${retries}"`);
    hc.Retries = Number(retries);
  }
  return hc;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("30s", "1m30s", "500ms") in nanoseconds; zero or empty means "the default", as BuildKit's parseOptInterval reads it. */
export function parseDuration(text: string, flag: string): number {
  const bad = () => new InstructionError(`--${flag}: "${text}" is not a duration like 30s or 1m30s`);
  if (text === '0' || text === '') return 0;
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw bad();
    total += Number(m[1]) * UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!Number.isSafeInteger(Math.round(total))) throw bad();
  const ns = Math.round(total);
  if (ns !== 0 && ns < 1e6) throw new InstructionError(`--${flag} cannot be less than 1ms`);
  return ns;
}

/** An ONBUILD trigger (from a base image's config) parsed as the instruction it is. */
export function parseTrigger(expression: string, line: number, file: string, escape: string): Instruction {
  let keyword = expression.trim().split(/\s+/)[0]!.toUpperCase();
  try {
    const [raw] = splitDockerfile(expression, { escape: escape === '`' ? '`' : '\\', directives: false }).instructions;
    if (raw?.error !== undefined) throw new InstructionError(raw.error);
    if (raw) keyword = raw.keyword.toUpperCase();
    return parseInstruction(keyword, raw?.args ?? '', line, escape, raw?.heredocs);
  } catch (err) {
    if (err instanceof InstructionError || err instanceof FlagError) throw dockerfileError(file, line, `ONBUILD trigger ${keyword} of the base image: ${err.message}`);
    throw err;
  }
}
