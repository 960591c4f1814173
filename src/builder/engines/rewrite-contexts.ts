import { DirectiveError, splitDockerfile, textOffset, wordSpans, type RawInstruction, type SplitDockerfile } from '../../dockerfile/syntax.js';

/** The Dockerfile split as berth's parser splits it; a bad directive leaves nothing to rewrite (parsing reports it). */
function split(text: string): SplitDockerfile {
  try {
    return splitDockerfile(text);
  } catch (err) {
    if (err instanceof DirectiveError) return { escape: '\\', directives: [], instructions: [] };
    throw err;
  }
}

/** An argument word of an instruction, with where it starts and ends in the text (a continuation may run through it). */
interface Word {
  word: string;
  start: number;
  end: number;
}

function argWords(ins: RawInstruction, escape: string): Word[] {
  return wordSpans(ins.args, escape).map(({ word, at }) => ({ word, ...textRange(ins, ins.argsAt + at, word.length) }));
}

/** Where `length` characters of the folded line from `index` are in the text. */
function textRange(ins: RawInstruction, index: number, length: number): { start: number; end: number } {
  return { start: textOffset(ins, index), end: textOffset(ins, index + length - 1) + 1 };
}

/** A FROM's leading flags, its image and its stage name (lower case), as written. */
function fromParts(ins: RawInstruction, escape: string): { flags: Word[]; image?: Word; stage?: string } {
  const words = argWords(ins, escape);
  let n = 0;
  while (n < words.length && words[n]!.word.startsWith('--')) n++;
  const image = words[n];
  const as = words[n + 1];
  const stage = as && as.word.toLowerCase() === 'as' ? words[n + 2]?.word.toLowerCase() : undefined;
  return { flags: words.slice(0, n), ...(image ? { image } : {}), ...(stage ? { stage } : {}) };
}

const isFrom = (ins: RawInstruction) => ins.keyword.toUpperCase() === 'FROM';

/**
 * A Dockerfile with its references to named contexts replaced by the names the contexts were
 * loaded under, for an engine that has no `--build-context` (Docker 20.10): `FROM NAME`
 * (with or without `--platform`, `AS`), `COPY --from=NAME` and `RUN --mount=...,from=NAME`. A name that is also a stage
 * of the Dockerfile is left alone (the stage wins, as in BuildKit); so are references spelt
 * with a variable (`FROM $BASE`), which the engine expands itself.
 */
export function rewriteContextRefs(text: string, localNames: Readonly<Record<string, string>>): string {
  const { escape, instructions } = split(text);
  const froms = instructions.filter(isFrom).map((f) => fromParts(f, escape));
  const stages = new Set(froms.map((f) => f.stage).filter((s): s is string => !!s));
  const edits: { start: number; end: number; value: string }[] = [];
  const target = (name: string | undefined) => {
    if (!name || stages.has(name.toLowerCase())) return undefined;
    return Object.hasOwn(localNames, name) ? localNames[name] : undefined;
  };
  for (const { image } of froms) {
    const value = target(image?.word);
    if (value && image) edits.push({ start: image.start, end: image.end, value });
  }
  for (const copy of instructions.filter((i) => i.keyword.toUpperCase() === 'COPY')) {
    for (const { word, at } of wordSpans(copy.args, escape)) {
      if (!word.startsWith('--')) break;
      const eq = word.indexOf('=');
      if (eq < 0 || word.slice(2, eq).toLowerCase() !== 'from') continue;
      const value = target(word.slice(eq + 1));
      if (value) edits.push({ ...textRange(copy, copy.argsAt + at + eq + 1, word.length - eq - 1), value });
    }
  }
  // RUN --mount=type=bind,from=NAME,... (BuildKit's keys in any case, fields split at commas).
  for (const run of instructions.filter((i) => i.keyword.toUpperCase() === 'RUN')) {
    for (const { word, at } of wordSpans(run.args, escape)) {
      if (!word.startsWith('--')) break;
      const eq = word.indexOf('=');
      if (eq < 0 || word.slice(2, eq).toLowerCase() !== 'mount') continue;
      let offset = eq + 1;
      for (const field of word.slice(eq + 1).split(',')) {
        const fe = field.indexOf('=');
        const value = fe > 0 && field.slice(0, fe).toLowerCase() === 'from' ? target(field.slice(fe + 1)) : undefined;
        if (value) edits.push({ ...textRange(run, run.argsAt + at + offset + fe + 1, field.length - fe - 1), value });
        offset += field.length + 1;
      }
    }
  }
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.value + out.slice(e.end);
  return out;
}

/** Where each line starts ('\n' ends a line, as the parser counts them). */
function lineOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/**
 * The Dockerfile with `ARG NAME` declared before its first `FROM` for each of `names`, after
 * any parser directives (which must stay first). Docker's classic builder defines no
 * platform args and expands `FROM --platform=$BUILDPLATFORM` only from such global ARGs;
 * declared there, the values given with --build-arg reach it.
 */
export function declareGlobalArgs(text: string, names: readonly string[]): string {
  if (names.length === 0) return text;
  const { directives } = split(text);
  const offsets = lineOffsets(text);
  const afterLine = directives.length ? Math.max(...directives.map((d) => d.line)) : 0;
  const at = offsets[afterLine] ?? text.length;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const prefix = at > 0 && !/[\r\n]$/.test(text.slice(0, at)) ? eol : '';
  return text.slice(0, at) + prefix + names.map((n) => `ARG ${n}${eol}`).join('') + text.slice(at);
}

/** Which of `names` a FROM instruction refers to (`$NAME` or `${NAME...}`). */
export function argsUsedInFrom(text: string, names: readonly string[]): string[] {
  const froms = split(text)
    .instructions.filter(isFrom)
    .map((f) => `${f.keyword} ${f.args}`)
    .join('\n');
  return names.filter((n) => new RegExp(`\\$(?:${n}\\b|\\{${n}[}:])`).test(froms));
}

/**
 * The Dockerfile with `--platform=$TARGETPLATFORM` on each FROM of an image that names no
 * platform (BuildKit's default, said out loud): buildah 1.28 keeps a stage's `FROM
 * --platform=$BUILDPLATFORM` for the stages after it, and then finds no image of the target's
 * platform (`image not known`). FROM scratch and FROM an earlier stage are left alone.
 */
export function pinTargetPlatform(text: string): string {
  const { escape, instructions } = split(text);
  const stages = new Set<string>();
  const edits: number[] = [];
  for (const from of instructions.filter(isFrom).map((f) => fromParts(f, escape))) {
    const image = from.image?.word.toLowerCase();
    const hasPlatform = from.flags.some((f) => /^--platform(=|$)/i.test(f.word));
    if (from.image && image && !hasPlatform && image !== 'scratch' && !stages.has(image)) edits.push(from.image.start);
    if (from.stage) stages.add(from.stage);
  }
  let out = text;
  for (const at of edits.sort((a, b) => b - a)) out = `${out.slice(0, at)}--platform=$TARGETPLATFORM ${out.slice(at)}`;
  return out;
}
