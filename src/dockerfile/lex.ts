/**
 * Docker's word rules for instruction arguments (BuildKit's shell/lex.go): quotes, the escape
 * character and variable expansion (`$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}`,
 * `${V:?msg}`, `${V?msg}`; positional and special parameters such as `$1`, `$@` expand to
 * nothing). Pure: the caller gives the variables in scope.
 */

export type Vars = ReadonlyMap<string, string>;

/** A word that cannot be expanded (an unclosed brace, `${V:?}` of an unset V); the caller adds the line. */
export class LexError extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
/** The shell's special parameters: a name of their own one character, set to nothing here (as in BuildKit). */
const SPECIAL = /[@*#?$!-]/;
const SPACE = /[ \t\r\n]/;

/** One word: quotes removed, escapes applied, variables expanded. */
export function processWord(word: string, vars: Vars, escape = '\\'): string {
  return new Lexer(word, vars, escape).words(false).join('');
}

/** Words split on unquoted white space, each processed as processWord does. */
export function processWords(text: string, vars: Vars, escape = '\\'): string[] {
  return new Lexer(text, vars, escape).words(true);
}

/** Words split on unquoted white space, quotes and escapes kept as written (BuildKit's parseWords). */
export function splitWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (!quote && SPACE.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      word += ch + text[++i]!;
      continue;
    }
    if (quote && ch === quote) quote = '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

/** What one instruction's words may expand to at most, and how deep `${...}` may nest: a hostile Dockerfile gets one error line, not a stack overflow or an exhausted heap. */
const MAX_EXPANDED = 1 << 20;
const MAX_NESTING = 64;

class Lexer {
  private i = 0;
  private expanded = 0;
  private depth = 0;
  constructor(
    private readonly text: string,
    private readonly vars: Vars,
    private readonly escape: string,
  ) {}

  /** Reads to the end (or to `stop`, unquoted). `split` makes unquoted white space end a word. */
  words(split: boolean, stop?: string): string[] {
    const words: string[] = [];
    let word = '';
    let inWord = false;
    while (this.i < this.text.length) {
      const ch = this.text[this.i]!;
      if (stop !== undefined && ch === stop) break;
      this.i++;
      if (split && SPACE.test(ch)) {
        if (inWord) words.push(word);
        word = '';
        inWord = false;
        continue;
      }
      inWord = true;
      if (ch === this.escape) {
        if (this.i < this.text.length) word += this.text[this.i++]!;
      } else if (ch === "'") {
        word += this.singleQuoted();
      } else if (ch === '"') {
        word += this.doubleQuoted();
      } else if (ch === '$') {
        word += this.dollar();
      } else {
        word += ch;
      }
    }
    if (inWord || (!split && words.length === 0)) words.push(word);
    return words;
  }

  private singleQuoted(): string {
    const end = this.text.indexOf("'", this.i);
    if (end < 0) throw new LexError('unexpected end of text: a single quote is not closed');
    const out = this.text.slice(this.i, end);
    this.i = end + 1;
    return out;
  }

  private doubleQuoted(): string {
    let out = '';
    while (this.i < this.text.length) {
      const ch = this.text[this.i++]!;
      if (ch === '"') return out;
      if (ch === '$') {
        out += this.dollar();
      } else if (ch === this.escape && this.i < this.text.length && ['"', '$', this.escape].includes(this.text[this.i]!)) {
        out += this.text[this.i++]!;
      } else {
        out += ch;
      }
    }
    throw new LexError('unexpected end of text: a double quote is not closed');
  }

  /** After a `$`: a variable's value, or a literal `$` when no name follows. */
  private dollar(): string {
    const ch = this.text[this.i];
    if (ch === '{') {
      this.i++;
      return this.braced();
    }
    const name = this.name();
    return name === '' ? '$' : this.count(this.vars.get(name) ?? '');
  }

  private count(value: string): string {
    this.expanded += value.length;
    if (this.expanded > MAX_EXPANDED) throw new LexError(`variables expand to more than ${MAX_EXPANDED >> 20} MiB`);
    return value;
  }

  /**
   * A name after `$` or `${`, as BuildKit's processName reads it: all the digits of a positional
   * parameter (`$12`), one special parameter (`$@`, `$$`), or letters, digits and `_`; '' for none.
   */
  private name(): string {
    const start = this.i;
    const first = this.text[this.i];
    if (first === undefined) return '';
    if (DIGIT.test(first)) {
      while (this.i < this.text.length && DIGIT.test(this.text[this.i]!)) this.i++;
    } else if (SPECIAL.test(first)) {
      this.i++;
    } else if (NAME_START.test(first)) {
      while (this.i < this.text.length && NAME_CHAR.test(this.text[this.i]!)) this.i++;
    }
    return this.text.slice(start, this.i);
  }

  private braced(): string {
    if (++this.depth > MAX_NESTING) throw new LexError(`\${...} nested more than ${MAX_NESTING} deep`);
    try {
      return this.count(this.bracedInner());
    } finally {
      this.depth--;
    }
  }

  private bracedInner(): string {
    const name = this.name();
    if (name === '') throw new LexError(`bad substitution: "\${" must be followed by a variable name`);
    const value = this.vars.get(name);
    const ch = this.text[this.i];
    if (ch === '}') {
      this.i++;
      return value ?? '';
    }
    let op = '';
    if (ch === ':') {
      op = ':';
      this.i++;
    }
    const kind = this.text[this.i];
    if (kind !== '-' && kind !== '+' && kind !== '?') {
      throw new LexError(kind === undefined ? `missing '}' after \${${name}` : `unsupported modifier "${op}${kind}" in \${${name}...}`);
    }
    this.i++;
    const word = this.words(false, '}').join('');
    if (this.text[this.i] !== '}') throw new LexError(`missing '}' after \${${name}${op}${kind}`);
    this.i++;
    const set = op === ':' ? value !== undefined && value !== '' : value !== undefined;
    if (kind === '-') return set ? value! : word;
    if (kind === '+') return set ? word : '';
    if (!set) throw new LexError(`${name}: ${word || 'is not set'}`);
    return value!;
  }
}
