import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DockerfileParser, type Flag, type Instruction as AstInstruction } from 'dockerfile-ast';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { DirectiveError, jsonArray, splitDockerfile, textOffset, wordSpans } from '../../src/dockerfile/syntax.js';
import { CASES } from '../e2e/conformance/cases.js';
import { failure } from '../helpers/usage-failure.js';

/**
 * berth's Dockerfile parser (src/dockerfile/syntax.ts, BuildKit's parser.go rules) checked
 * against dockerfile-ast, a second, independent reading kept only as this test's oracle (a
 * devDependency): over every Dockerfile in the tests, the same instructions, the same first
 * and last lines, the same arguments and heredocs.
 */

interface Shape {
  keyword: string;
  lines: [number, number];
  /** Words split on white space; a heredoc's body words and its closing name follow, as dockerfile-ast lists them. */
  args: string[];
  heredocs: string[];
}

// dockerfile-ast gives argument values with their escapes applied (`e\ f` is `e` and `f`, `\"` is `"`):
// words are compared with every escape character dropped, on both sides.
const unescaped = (w: string) => w.replace(/\\(.|$)/g, '$1');
const words = (s: string) => s.split(/\s+/).filter((w) => w !== '').map(unescaped);

function ours(text: string): Shape[] {
  return splitDockerfile(text).instructions.map((i) => ({
    keyword: i.keyword.toUpperCase(),
    lines: [i.line, i.endLine],
    args: [...words(i.args), ...i.heredocs.flatMap((h) => [...words(h.content), h.name])],
    heredocs: i.heredocs.map((h) => h.name),
  }));
}

function oracle(text: string): Shape[] {
  return DockerfileParser.parse(text)
    .getInstructions()
    .map((i: AstInstruction) => {
      const r = i.getRange();
      const more = i as unknown as { getHeredocs?: () => { getName(): string }[]; getFlags?: () => Flag[] };
      // Instructions that take flags list them apart from their arguments.
      const flags = (more.getFlags?.() ?? []).map((f) => `--${f.getName()}${f.getValue() === null ? '' : `=${f.getValue()}`}`);
      const args = [...flags, ...i.getArguments().map((a) => unescaped(a.getValue()))];
      return { keyword: i.getKeyword().toUpperCase(), lines: [r.start.line + 1, r.end.line + 1], args, heredocs: (more.getHeredocs?.() ?? []).map((h) => h.getName()) };
    });
}

function dockerfilesUnder(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /^Dockerfile|\.Dockerfile$/.test(e.name)) {
      const path = join(e.parentPath, e.name);
      out.push([path, readFileSync(path, 'utf8')]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

// Shapes the corpus lacks, on which the two parsers agree.
const SHAPES: [string, string][] = [
  ['continuations with comments and empty lines inside', 'FROM a\nRUN echo a \\\n  # a comment\n\n  b \\\n   \n  c\nLABEL a="b c" \\\n  d=e\n'],
  ['the escape directive', '# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nCOPY a `\n  b /c/\nRUN dir c:\\\n'],
  ['a directive after a blank line is a comment', '\n# escape=`\nFROM a\nRUN echo `\n b\n'],
  ['indented instructions and comments, lower case keywords', '  from a\n   # hi\n\t run x \\\n\ny\n'],
  ['heredocs: several on a line, <<-, quoted, after a continuation', 'FROM a\nRUN <<A <<B\na\nA\nb\nB\nCOPY <<-"EOT" /x\n\tone\n\tEOT\nRUN cat \\\n  <<EOF\nbody\nEOF\nONBUILD RUN <<EOF\nx\nEOF\nRUN y\n'],
  ['no heredoc in the JSON form or in a quoted word', 'FROM a\nRUN ["cat", "<<EOF"]\nRUN --network=none ["cat", "<<EOF"]\nRUN echo "<<EOF"\nRUN b\n'],
  ['<< inside a word is no heredoc; a name with a dash; one name twice', 'FROM a\nRUN cat<<EOF\nRUN cat <<EOF-1\nx\nEOF-1\nCOPY <<EOF <<EOF /x/\na\nEOF\nb\nEOF\n'],
  ['CRLF line ends', 'FROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\nRUN a \\\r\n  b\r\n'],
];

describe('the parser against dockerfile-ast', () => {
  const corpus = [
    ...dockerfilesUnder(join(import.meta.dirname, '..', 'fixtures')),
    ...CASES.map((c): [string, string] => [`conformance case ${c.name}`, c.dockerfile]),
    ...SHAPES,
  ];

  it('reads a corpus: the fixtures and the conformance cases', () => {
    // Under bench/mutation.sh the sandbox leaves out the seed trees with symlinked folders (stryker.config.mjs).
    expect(corpus.filter(([name]) => name.includes('fixtures')).length).toBeGreaterThanOrEqual(process.env.BERTH_MUTATE ? 4 : 17);
    expect(corpus.filter(([name]) => name.startsWith('conformance')).length).toBe(CASES.length);
  });

  it.each(corpus)('%s: same instructions, lines, arguments and heredocs', (_name, text) => {
    expect(ours(text)).toEqual(oracle(text));
  });
});

/**
 * Where dockerfile-ast reads a Dockerfile otherwise than BuildKit does, berth follows BuildKit
 * (frontend/dockerfile/parser/parser.go): each case says what the two do.
 */
const DIFFERENCES: { name: string; text: string; why: string; berth: Pick<Shape, 'keyword' | 'lines' | 'heredocs'>[] }[] = [
  {
    name: 'an escaped escape character ends no continuation',
    text: 'FROM a\nRUN echo \\\\\nRUN b\n',
    why: "BuildKit's lineContinuationRegex is `([^\\\\])\\\\[ \\t]*$`: the escape must not follow another; dockerfile-ast joins the next line",
    berth: [
      { keyword: 'FROM', lines: [1, 1], heredocs: [] },
      { keyword: 'RUN', lines: [2, 2], heredocs: [] },
      { keyword: 'RUN', lines: [3, 3], heredocs: [] },
    ],
  },
  {
    name: 'a heredoc on a file descriptor',
    text: 'FROM a\nRUN 3<<EOF cat /dev/fd/3\nx\nEOF\nRUN y\n',
    why: 'BuildKit reads `^(\\d*)<<(-?)\\s*([^<]*)$`: a descriptor may come first; dockerfile-ast sees no heredoc and makes `x` and `EOF` instructions',
    berth: [
      { keyword: 'FROM', lines: [1, 1], heredocs: [] },
      { keyword: 'RUN', lines: [2, 4], heredocs: ['EOF'] },
      { keyword: 'RUN', lines: [5, 5], heredocs: [] },
    ],
  },
  {
    name: 'an escaped << opens no heredoc',
    text: 'FROM a\nRUN echo \\<<EOF\nRUN y\n',
    why: 'BuildKit matches heredocs on words with their escapes kept (RawEscapes), so `\\<<EOF` is no heredoc; dockerfile-ast opens one and reads to the end',
    berth: [
      { keyword: 'FROM', lines: [1, 1], heredocs: [] },
      { keyword: 'RUN', lines: [2, 2], heredocs: [] },
      { keyword: 'RUN', lines: [3, 3], heredocs: [] },
    ],
  },
  {
    name: '<<- followed by a blank is no heredoc',
    text: 'FROM a\nRUN <<- EOF\nx\nEOF\n',
    why: 'BuildKit splits the line into words first: `<<-` alone names nothing; dockerfile-ast opens a nameless heredoc that runs to the end',
    berth: [
      { keyword: 'FROM', lines: [1, 1], heredocs: [] },
      { keyword: 'RUN', lines: [2, 2], heredocs: [] },
      { keyword: 'X', lines: [3, 3], heredocs: [] },
      { keyword: 'EOF', lines: [4, 4], heredocs: [] },
    ],
  },
  {
    name: 'a line of only the escape character continues',
    text: '\\\nFROM a\n',
    why: "BuildKit's lineContinuationRegex also matches `^\\\\[ \\t]*$`: the FROM starts on line 1; dockerfile-ast makes `\\` an instruction of its own",
    berth: [{ keyword: 'FROM', lines: [1, 2], heredocs: [] }],
  },
  {
    name: 'no heredocs in HEALTHCHECK',
    text: 'FROM a\nHEALTHCHECK CMD <<EOF\nx\nEOF\n',
    why: 'BuildKit reads heredocs only for RUN, COPY, ADD (and ONBUILD of one); dockerfile-ast names a heredoc on HEALTHCHECK (with the same lines)',
    berth: [
      { keyword: 'FROM', lines: [1, 1], heredocs: [] },
      { keyword: 'HEALTHCHECK', lines: [2, 2], heredocs: [] },
      { keyword: 'X', lines: [3, 3], heredocs: [] },
      { keyword: 'EOF', lines: [4, 4], heredocs: [] },
    ],
  },
];

describe('where BuildKit and dockerfile-ast disagree, berth reads as BuildKit', () => {
  it.each(DIFFERENCES)('$name', ({ text, berth }) => {
    const shape = ours(text).map(({ keyword, lines, heredocs }) => ({ keyword, lines, heredocs }));
    expect(shape).toEqual(berth);
    expect(oracle(text).map(({ keyword, lines, heredocs }) => ({ keyword, lines, heredocs }))).not.toEqual(berth);
  });
});

describe("BuildKit's rules", () => {
  it('keeps heredoc bodies as written: <<- strips leading tabs, a quoted name is not expanded, CRLF stays', () => {
    const [run, copy, crlf] = splitDockerfile('RUN <<-EOF cat\n\t\tone\n\t two\n\tEOF\nCOPY <<\'A\' <<"B" /x/\n$a\nA\n$b\nB\nRUN <<E\r\nx\r\nE\r\n').instructions;
    expect(run).toMatchObject({ args: '<<-EOF cat', heredocs: [{ name: 'EOF', content: 'one\n two\n', chomp: true, quoted: false }] });
    expect(copy!.heredocs).toEqual([
      { name: 'A', content: '$a\n', chomp: false, quoted: true },
      { name: 'B', content: '$b\n', chomp: false, quoted: true },
    ]);
    expect(crlf!.heredocs).toEqual([{ name: 'E', content: 'x\r\n', chomp: false, quoted: false }]);
  });

  it('reads the heredoc after the whole instruction, continuations folded', () => {
    const df = parseDockerfile('FROM a\nRUN cat \\\n  <<EOF > /x\nhello\nEOF\nCOPY <<EOT \\\n  /y\nhi\nEOT\n');
    const [run, copy] = df.stages[0]!.instructions;
    expect(run).toMatchObject({ line: 2, command: { form: 'shell', text: 'cat   <<EOF > /x' }, heredocs: [{ name: 'EOF', content: 'hello\n' }] });
    expect(copy).toMatchObject({ line: 6, sources: ['<<EOT'], dest: '/y', heredocs: [{ name: 'EOT', content: 'hi\n' }] });
  });

  it('takes parser directives only before the first other line, once each', () => {
    expect(splitDockerfile('# Syntax = docker/dockerfile:1 \n#check=skip=all\n# escape=`\nFROM a\n').directives).toEqual([
      { name: 'syntax', value: 'docker/dockerfile:1', line: 1 },
      { name: 'check', value: 'skip=all', line: 2 },
      { name: 'escape', value: '`', line: 3 },
    ]);
    expect(splitDockerfile('# a comment\n# escape=`\nFROM a\n')).toMatchObject({ escape: '\\', directives: [] });
    expect(splitDockerfile('FROM a\n# escape=`\n')).toMatchObject({ escape: '\\', directives: [] });
    expect(() => splitDockerfile('# escape=`\n# escape=\\\nFROM a\n')).toThrow(DirectiveError);
    expect(failure(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a\n'))).toBe('Dockerfile:2: only one escape parser directive can be used');
    expect(failure(() => parseDockerfile('# escape=x\nFROM a\n'))).toBe("Dockerfile:1: invalid escape token 'x' does not match ` or \\");
  });

  it('reports an unclosed heredoc at its instruction, after the errors of the lines before it', () => {
    expect(failure(() => parseDockerfile('FROM a\nRUN <<EOF\nx\n'))).toBe('Dockerfile:2: RUN: heredoc <<EOF is not closed by a line "EOF"');
    expect(failure(() => parseDockerfile('FROM a\nFOO x\nRUN <<EOF\n'))).toMatch(/^Dockerfile:2: FOO: unknown instruction/);
  });

  it('refuses an instruction that is only a continuation', () => {
    expect(failure(() => parseDockerfile('FROM a\n\\\n'))).toBe('Dockerfile:2: unknown instruction ""');
  });

  it('drops a byte order mark and reads a continuation left open at the end', () => {
    const df = parseDockerfile('\uFEFFFROM a\nRUN echo hi \\');
    expect(df.stages[0]!.instructions[0]).toMatchObject({ line: 2, command: { form: 'shell', text: 'echo hi' } });
  });
});

describe('any text', () => {
  it('splits into instructions in order, each within the text, or stops at a bad directive', () => {
    const piece = fc.constantFrom('FROM a', 'RUN ', 'COPY ', '<<EOF', '<<-"A"', 'EOF', '\tA', 'A', '\\', '`', '# escape=`', '# syntax=x', '#', ' ', '\t', '\n', '\r\n', '["x"]', '--f=1 ', 'ONBUILD ', '\uFEFF');
    fc.assert(
      fc.property(fc.oneof(fc.array(piece, { maxLength: 40 }).map((a) => a.join('')), fc.string({ maxLength: 200 })), (text) => {
        let split;
        try {
          split = splitDockerfile(text);
        } catch (err) {
          if (err instanceof DirectiveError) return;
          throw err;
        }
        const lines = text.split('\n').length;
        let last = 0;
        for (const i of split.instructions) {
          expect(i.line).toBeGreaterThan(last);
          expect(i.endLine).toBeGreaterThanOrEqual(i.line);
          expect(i.endLine).toBeLessThanOrEqual(lines);
          // A line of only the escape character, continued into nothing, is an empty instruction; any other names a keyword.
          if (i.keyword === '') expect(i.args).toBe('');
          else expect(i.keyword).toMatch(/^[^ \t\r\n]+$/);
          last = i.endLine;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('directives, continuations and words, rule by rule', () => {
  const keywords = (text: string) => splitDockerfile(text).instructions.map((i) => [i.keyword, i.args]);

  it('reads a directive only from a comment, a known name with a value, at the start of the comment', () => {
    // directives.go: `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`; an unknown name, an empty value or a
    // line that is not a comment ends the directives (the Dockerfile reference: "treated as a comment").
    expect(splitDockerfile('xescape=`\nFROM a `\n')).toMatchObject({ escape: '\\', directives: [] });
    expect(keywords('xescape=`\nFROM a `\n')).toEqual([['xescape=`', ''], ['FROM', 'a `']]);
    expect(splitDockerfile('# hello escape=`\nFROM a\n')).toMatchObject({ escape: '\\', directives: [] });
    expect(splitDockerfile('# unknowndirective=value\n# escape=`\nFROM a\n')).toMatchObject({ escape: '\\', directives: [] });
    expect(splitDockerfile('# syntax=\n# escape=`\nFROM a\n')).toMatchObject({ escape: '\\', directives: [] });
    expect(splitDockerfile('#escape=\\\nFROM a\n')).toMatchObject({ escape: '\\', directives: [{ name: 'escape', value: '\\', line: 1 }] });
    expect(splitDockerfile('#  ESCAPE  =  `  \nFROM a\n')).toMatchObject({ escape: '`', directives: [{ name: 'escape', value: '`', line: 1 }] });
  });

  it('reads no directive in an instruction given alone (an ONBUILD trigger)', () => {
    expect(splitDockerfile('# escape=`\nRUN a `\n', { directives: false })).toEqual({
      escape: '\\',
      directives: [],
      instructions: [expect.objectContaining({ keyword: 'RUN', args: 'a `', line: 2, endLine: 2 })],
    });
    expect(splitDockerfile('RUN a `\n b\n', { escape: '`', directives: false }).instructions).toMatchObject([{ keyword: 'RUN', args: 'a  b', line: 1, endLine: 2 }]);
  });

  it('continues a line whose escape character is followed by blanks only, not one whose escape is escaped', () => {
    // parser.go's lineContinuationRegex: `([^\\])\\[ \t]*$`; the next line keeps its leading blanks.
    expect(splitDockerfile('RUN a \\ \t\n  b\nRUN c\\\t\n d\n').instructions).toMatchObject([
      { keyword: 'RUN', args: 'a   b', line: 1, endLine: 2 },
      { keyword: 'RUN', args: 'c d', line: 3, endLine: 4 },
    ]);
    expect(splitDockerfile('RUN a\\\\ \nRUN b\n').instructions.map((i) => i.args)).toEqual(['a\\\\', 'b']);
    expect(splitDockerfile('# escape=`\nRUN a ` \n b\nRUN c\\\nRUN d\n').instructions.map((i) => i.args)).toEqual(['a  b', 'c\\', 'd']);
  });

  it('trims the arguments after the keyword (splitCommand: TrimSpace)', () => {
    expect(keywords('FROM a \t\nRUN\tx  y \nWORKDIR\n')).toEqual([['FROM', 'a'], ['RUN', 'x  y'], ['WORKDIR', '']]);
  });

  it('takes a comment ending in a byte order mark as a comment, and drops the mark only at the start', () => {
    expect(keywords('# hi \uFEFF\nFROM a\n')).toEqual([['FROM', 'a']]);
    expect(keywords('\uFEFF# escape=`\nFROM a `\n b\n')).toEqual([['FROM', 'a  b']]);
  });

  it('keeps empty lines of a heredoc body, and ends it at the first line that is exactly its name', () => {
    expect(splitDockerfile('RUN <<EOF\n\n\nx\n\nEOF\nRUN b\n').instructions).toMatchObject([
      { keyword: 'RUN', line: 1, endLine: 6, heredocs: [{ name: 'EOF', content: '\n\nx\n\n' }] },
      { keyword: 'RUN', line: 7, args: 'b' },
    ]);
    expect(splitDockerfile('RUN <<EOF\r\n\r\nEOF\r\n').instructions[0]!.heredocs).toEqual([{ name: 'EOF', content: '\r\n', chomp: false, quoted: false }]);
  });

  it('reads heredoc names as BuildKit does: `^(\\d*)<<(-?)\\s*([^<]*)$`, the rest one shell word', () => {
    const heredocs = (line: string) => {
      const [run, ...rest] = splitDockerfile(`RUN cat ${line}\nRUN b\n`).instructions;
      // Whatever the heredocs, the next instruction is read: none is left open.
      expect({ error: run!.error, rest: rest.map((i) => i.args) }).toEqual({ error: undefined, rest: ['b'] });
      return run!.heredocs.map(({ name, quoted }) => ({ name, quoted }));
    };
    expect(heredocs('0<<EOF\nx\nEOF')).toEqual([{ name: 'EOF', quoted: false }]);
    expect(heredocs('9<<EOF\nx\nEOF')).toEqual([{ name: 'EOF', quoted: false }]);
    expect(heredocs('10<<-EOF\nx\nEOF')).toEqual([{ name: 'EOF', quoted: false }]);
    // Not a descriptor, a here-string (`<<<`), a second `<`, a quote left open, an escaped blank before it.
    expect(heredocs('.<<EOF')).toEqual([]);
    expect(heredocs('<<<"hello"')).toEqual([]);
    expect(heredocs('<<a<b')).toEqual([]);
    expect(heredocs('a\\ <<EOF')).toEqual([]);
    // ProcessWords on the name: escapes and quotes removed; a name with quotes is not expanded.
    expect(heredocs('<<E\\OF\nx\nEOF')).toEqual([{ name: 'EOF', quoted: false }]);
    expect(heredocs('<<"A B"\nx\nA B')).toEqual([{ name: 'A B', quoted: true }]);
    expect(heredocs('<<"A\\$B"\nx\nA$B')).toEqual([{ name: 'A$B', quoted: true }]);
    expect(heredocs("<<'A\\$B'\nx\nA\\$B")).toEqual([{ name: 'A\\$B', quoted: true }]);
    expect(heredocs('<<E"O"F\nx\nEOF')).toEqual([{ name: 'EOF', quoted: true }]);
  });

  it('reads the exec form as JSON: no heredoc there, flags before it skipped', () => {
    expect(splitDockerfile('RUN --network=none --mount=type=cache,target=/x ["cat", "<<EOF"]\nRUN b\n').instructions.map((i) => i.heredocs)).toEqual([[], []]);
    expect(jsonArray('["a", "b c"]')).toEqual(['a', 'b c']);
    expect(jsonArray(' ["a"]')).toBeUndefined();
    expect(jsonArray('[1]')).toBeUndefined();
    expect(jsonArray('["a", 1]')).toBeUndefined();
    expect(jsonArray('["a"')).toBeUndefined();
  });
});

describe('wordSpans (BuildKit parseWords: blanks split, quotes and escapes kept)', () => {
  it.each([
    ['a b', [['a', 0], ['b', 2]]],
    ['abc', [['abc', 0]]],
    ['ab  cd ', [['ab', 0], ['cd', 4]]],
    ['  a', [['a', 2]]],
    ['a\tb\rc\nd', [['a', 0], ['b', 2], ['c', 4], ['d', 6]]],
    ['a\\ b c', [['a\\ b', 0], ['c', 5]]],
    ['"a b" \'c d\' e', [['"a b"', 0], ["'c d'", 6], ['e', 12]]],
    ["'a\\' b'", [["'a\\'", 0], ["b'", 5]]],
    ['"a\\" b" c', [['"a\\" b"', 0], ['c', 8]]],
    ['x"a b"y z', [['x"a b"y', 0], ['z', 8]]],
    ['', []],
  ] as [string, [string, number][]][])('%j', (text, want) => {
    expect(wordSpans(text, '\\').map(({ word, at }) => [word, at])).toEqual(want);
  });

  it('uses the escape character given', () => {
    expect(wordSpans('a` b c\\ d', '`').map((w) => w.word)).toEqual(['a` b', 'c\\', 'd']);
  });
});

describe('offsets back into the text', () => {
  it('map every character of an instruction\'s arguments to the same character of the text', () => {
    const piece = fc.constantFrom('FROM a', 'RUN ', 'COPY x y', '\\', '`', '# escape=`', '#c', ' ', '\t', '\n', '\r\n', '\uFEFF', 'b', '<<EOF', 'EOF');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }).map((a) => a.join('')), (text) => {
        let split;
        try {
          split = splitDockerfile(text);
        } catch (err) {
          if (err instanceof DirectiveError) return;
          throw err;
        }
        for (const ins of split.instructions) {
          for (let k = 0; k < ins.args.length; k++) expect(text[textOffset(ins, ins.argsAt + k)]).toBe(ins.args[k]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('after a byte order mark, leading blanks and a continuation', () => {
    const text = '\uFEFF  COPY a \\\n   b c\n';
    const [ins] = splitDockerfile(text).instructions;
    expect(ins!.args).toBe('a    b c');
    expect([...ins!.args].map((_, k) => textOffset(ins!, ins!.argsAt + k))).toEqual([8, 9, 12, 13, 14, 15, 16, 17]);
  });
});
