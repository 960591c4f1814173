/**
 * A Dockerfile's text split into instructions, as BuildKit's frontend/dockerfile/parser
 * (parser.go, directives.go) splits it: parser directives (`syntax`, `escape`, `check`) only
 * in the comment lines at the top; an instruction runs over its line continuations (the escape
 * character, `\` or a backtick, at the end of a line), comment and empty lines inside a
 * continuation skipped; a RUN, COPY or ADD (or an ONBUILD of one) in shell form with `<<NAME`
 * words reads a heredoc body per word from the lines after it, each ending at a line that is
 * exactly NAME (`<<-NAME`: leading tabs stripped first; a quoted name: no expansion).
 * Text only, linear in the input: parse.ts makes each instruction a typed value.
 */
import type { Heredoc } from './instructions.js';

/** A parser directive: `# escape=\``, `# syntax=docker/dockerfile:1`, `# check=skip=...`. */
export interface Directive {
  name: 'syntax' | 'escape' | 'check';
  value: string;
  /** 1-based. */
  line: number;
}

/** One piece of an instruction's folded line: `length` characters of the text from offset `at`. */
export interface Span {
  at: number;
  length: number;
}

export interface RawInstruction {
  /** The first word, as written (`from`, `RUN`). */
  keyword: string;
  /** The rest of the folded line, trimmed: continuations joined, comment and empty lines inside dropped. */
  args: string;
  /** 1-based lines of its first and last line (heredoc bodies included). */
  line: number;
  endLine: number;
  heredocs: Heredoc[];
  /** Where the folded line's characters come from in the text; `argsAt` is where `args` starts in the folded line. */
  spans: Span[];
  argsAt: number;
  /** Why this instruction cannot be read (an unterminated heredoc); splitting stops after it. */
  error?: string;
}

export interface SplitDockerfile {
  escape: '\\' | '`';
  directives: Directive[];
  instructions: RawInstruction[];
}

/** A bad parser directive (an unknown escape character, a directive given twice), at its line. */
export class DirectiveError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);

/**
 * Splits `text` into parser directives and instructions. `escape` and `directives: false`
 * read an instruction given alone (an ONBUILD trigger of a base image).
 */
export function splitDockerfile(text: string, options: { escape?: '\\' | '`'; directives?: boolean } = {}): SplitDockerfile {
  const lines = physicalLines(text);
  const directives: Directive[] = [];
  const seen = new Set<string>();
  let directivesDone = options.directives === false;
  let escape = options.escape ?? '\\';
  const instructions: RawInstruction[] = [];

  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    const startLine = ++i;
    let start = first.at;
    let line = text.slice(first.at, first.end);
    if (startLine === 1 && line.startsWith('\uFEFF')) {
      line = line.slice(1);
      start += 1;
    }
    // The first line of an instruction: leading white space dropped, a comment is nothing.
    const lead = leadingSpace(line);
    line = line.slice(lead);
    start += lead;
    if (!directivesDone) {
      const d = directive(line);
      if (!d) directivesDone = true;
      else {
        if (seen.has(d.name)) throw new DirectiveError(`only one ${d.name} parser directive can be used`, startLine);
        seen.add(d.name);
        if (d.name === 'escape') {
          if (d.value !== '`' && d.value !== '\\') throw new DirectiveError(`invalid escape token '${d.value}' does not match \` or \\`, startLine);
          escape = d.value;
        }
        directives.push({ ...d, line: startLine });
      }
    }
    if (line.startsWith('#')) line = '';
    let cont = continuation(line, escape);
    if (!cont.more && cont.text === '') continue;
    const spans: Span[] = [{ at: start, length: cont.text.length }];
    const parts = [cont.text];
    while (cont.more && i < lines.length) {
      const next = lines[i++]!;
      const raw = text.slice(next.at, next.end);
      const lead2 = leadingSpace(raw);
      if (raw[lead2] === '#' || lead2 === raw.length) continue; // a comment or an empty line inside a continuation
      cont = continuation(raw, escape);
      spans.push({ at: next.at, length: cont.text.length });
      parts.push(cont.text);
    }
    const folded = parts.join('');
    const { keyword, args, argsAt } = splitCommand(folded);
    const ins: RawInstruction = { keyword, args, line: startLine, endLine: i, heredocs: [], spans, argsAt };
    instructions.push(ins);
    if (folded.includes('<<') && mayHaveHeredocs(keyword, args)) {
      for (const mark of heredocMarks(folded)) {
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i++]!;
          let content = text.slice(l.at, l.end);
          const tabs = mark.chomp ? leadingTabs(content) : 0;
          if (content.slice(tabs) === mark.name) {
            closed = true;
            break;
          }
          if (tabs) content = content.slice(tabs);
          body.push(`${content}${text.slice(l.end, l.next)}`);
        }
        ins.endLine = i;
        if (!closed) {
          ins.error = `heredoc <<${mark.name} is not closed by a line "${mark.name}"`;
          return { escape, directives, instructions };
        }
        ins.heredocs.push({ name: mark.name, content: body.join(''), chomp: mark.chomp, quoted: mark.quoted });
      }
    }
  }
  return { escape, directives, instructions };
}

/** Lines ending at '\n' (BuildKit's scanner): `end` excludes the '\r\n'/'\n', `next` is the next line's offset. */
function physicalLines(text: string): { at: number; end: number; next: number }[] {
  const out: { at: number; end: number; next: number }[] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const next = nl < 0 ? text.length : nl + 1;
    let end = nl < 0 ? text.length : nl;
    while (end > at && (text[end - 1] === '\r' || text[end - 1] === '\n')) end--;
    out.push({ at, end, next });
    at = next;
  }
  return out;
}

const SPACE = /\s/;

function leadingSpace(s: string): number {
  let n = 0;
  while (n < s.length && SPACE.test(s[n]!)) n++;
  return n;
}

function leadingTabs(s: string): number {
  let n = 0;
  while (s[n] === '\t') n++;
  return n;
}

/** `# name=value` of a known directive (directives.go: `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`). */
function directive(line: string): Omit<Directive, 'line'> | undefined {
  if (!line.startsWith('#')) return undefined;
  const rest = line.slice(1 + leadingSpace(line.slice(1)));
  const m = /^([a-zA-Z][a-zA-Z0-9]*)\s*=/.exec(rest);
  if (!m) return undefined;
  const value = rest.slice(m[0].length).trim();
  const name = m[1]!.toLowerCase();
  if (value === '' || (name !== 'syntax' && name !== 'escape' && name !== 'check')) return undefined;
  return { name, value };
}

/** A line ending in the escape character (not itself escaped), optionally followed by blanks, continues. */
function continuation(line: string, escape: string): { text: string; more: boolean } {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end > 0 && line[end - 1] === escape && (end === 1 || line[end - 2] !== escape)) return { text: line.slice(0, end - 1), more: true };
  return { text: line, more: false };
}

/** The keyword and the rest (BuildKit's splitCommand: split at the first run of blanks). */
function splitCommand(folded: string): { keyword: string; args: string; argsAt: number } {
  const lead = leadingSpace(folded);
  let k = lead;
  while (k < folded.length && !/[\t\v\f\r ]/.test(folded[k]!)) k++;
  const keyword = folded.slice(lead, k);
  const rest = folded.slice(k);
  const argsAt = k + leadingSpace(rest);
  return { keyword, args: folded.slice(argsAt).trim(), argsAt };
}

/** RUN/COPY/ADD (or ONBUILD of one) in shell form: BuildKit's canContainHeredoc. */
function mayHaveHeredocs(keyword: string, args: string): boolean {
  let kw = keyword.toUpperCase();
  let rest = args;
  if (kw === 'ONBUILD') {
    const sub = splitCommand(args);
    kw = sub.keyword.toUpperCase();
    rest = sub.args;
  }
  if (!HEREDOC_KEYWORDS.has(kw)) return false;
  return !jsonArray(withoutFlags(rest));
}

function withoutFlags(args: string): string {
  const flag = /--\S*\s*/y;
  let at = 0;
  while (args.startsWith('--', at)) {
    flag.lastIndex = at;
    at += flag.exec(args)![0].length;
  }
  return args.slice(at);
}

/** A JSON array of strings (the exec form, in which `<<` is no heredoc), else undefined. */
export function jsonArray(text: string): string[] | undefined {
  const v = leadingJson(text);
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

/**
 * The JSON array or object `text` starts with, parsed, else undefined. What follows it is
 * ignored, as BuildKit's parseJSON ignores it (Go's json.Decoder reads one value):
 * `CMD ["a"] b` is `["a"]`.
 */
export function leadingJson(text: string): unknown {
  if (!text.startsWith('[')) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '[' || ch === '{') {
      depth++;
    } else if ((ch === ']' || ch === '}') && --depth === 0) {
      try {
        return JSON.parse(text.slice(0, i + 1)) as unknown;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A heredoc's opening word: `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`. */
export interface HeredocMark {
  name: string;
  chomp: boolean;
  quoted: boolean;
}

/** The heredocs a folded line opens, in order: every word that is `[fd]<<[-]NAME` (BuildKit's heredocsFromLine). */
export function heredocMarks(line: string): HeredocMark[] {
  const out: HeredocMark[] = [];
  for (const { word } of wordSpans(line, '\\')) {
    const mark = heredocMark(word);
    if (mark) out.push(mark);
  }
  return out;
}

/** One word as a heredoc's opening (BuildKit's ParseHeredoc: `^(\d*)<<(-?)\s*([^<]*)$`, the rest one word once unquoted). */
export function heredocMark(word: string): HeredocMark | undefined {
  let p = 0;
  while (p < word.length && word[p]! >= '0' && word[p]! <= '9') p++;
  if (!word.startsWith('<<', p)) return undefined;
  p += 2;
  const chomp = word[p] === '-';
  if (chomp) p++;
  p += leadingSpace(word.slice(p));
  const rest = word.slice(p);
  if (rest === '' || rest.includes('<')) return undefined;
  const unquoted = unquote(rest);
  if (!unquoted) return undefined;
  return { name: unquoted.word, chomp, quoted: unquoted.quoted };
}

/** Quotes and backslash escapes removed from one shell word; undefined when it is not exactly one word or a quote is open. */
function unquote(text: string): { word: string; quoted: boolean } | undefined {
  let word = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      if (i + 1 < text.length) word += text[++i]!;
    } else if (ch === "'" || ch === '"') {
      quoted = true;
      const close = text.indexOf(ch, i + 1);
      if (close < 0) return undefined;
      let inner = text.slice(i + 1, close);
      if (ch === '"') inner = inner.replace(/\\(["\\$`])/g, '$1');
      word += inner;
      i = close;
    } else if (SPACE.test(ch)) {
      return undefined;
    } else {
      word += ch;
    }
  }
  return word === '' ? undefined : { word, quoted };
}

/**
 * Words split on unquoted blanks, quotes and escapes kept as written (BuildKit's parseWords),
 * each with its offset in `text`.
 */
export function wordSpans(text: string, escape: string): { word: string; at: number }[] {
  const words: { word: string; at: number }[] = [];
  let start = -1;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (!quote && (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n')) {
      if (start >= 0) words.push({ word: text.slice(start, i), at: start });
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      i++;
      continue;
    }
    if (quote && ch === quote) quote = '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
  }
  if (start >= 0) words.push({ word: text.slice(start), at: start });
  return words;
}

/** The offset in the text of character `index` of an instruction's folded line. */
export function textOffset(ins: RawInstruction, index: number): number {
  let rest = index;
  for (const s of ins.spans) {
    if (rest < s.length) return s.at + rest;
    rest -= s.length;
  }
  const last = ins.spans.at(-1)!;
  return last.at + last.length + rest;
}
