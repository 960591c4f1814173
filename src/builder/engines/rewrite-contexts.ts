import { DockerfileParser } from 'dockerfile-ast';

interface Position {
  line: number;
  character: number;
}

/**
 * A Dockerfile with its references to named contexts replaced by the names the contexts were
 * loaded under, for an engine that has no `--build-context` (Docker 20.10): `FROM NAME`
 * (with or without `--platform`, `AS`) and `COPY --from=NAME`. A name that is also a stage
 * of the Dockerfile is left alone (the stage wins, as in BuildKit); so are references spelt
 * with a variable (`FROM $BASE`), which the engine expands itself.
 */
export function rewriteContextRefs(text: string, localNames: Readonly<Record<string, string>>): string {
  const doc = DockerfileParser.parse(text);
  const stages = new Set(doc.getFROMs().map((f) => f.getBuildStage()?.toLowerCase()).filter((s): s is string => !!s));
  const edits: { start: number; end: number; value: string }[] = [];
  const offsets = lineOffsets(text);
  const at = (p: Position) => offsets[p.line]! + p.character;
  const target = (name: string | null | undefined) => {
    if (!name || stages.has(name.toLowerCase())) return undefined;
    return Object.hasOwn(localNames, name) ? localNames[name] : undefined;
  };
  for (const from of doc.getFROMs()) {
    const value = target(from.getImage());
    const range = from.getImageRange();
    if (value && range) edits.push({ start: at(range.start), end: at(range.end), value });
  }
  for (const copy of doc.getCOPYs()) {
    // getFromFlag() misses --from when other flags are present (dockerfile-ast 0.7); look ourselves.
    for (const flag of copy.getFlags().filter((f) => f.getName().toLowerCase() === 'from')) {
      const value = target(flag.getValue());
      const range = flag.getValueRange();
      if (value && range) edits.push({ start: at(range.start), end: at(range.end), value });
    }
  }
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.value + out.slice(e.end);
  return out;
}

/** Where each line starts, lines ending in \n, \r\n or \r as the parser counts them. */
function lineOffsets(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\r' && text[i + 1] === '\n') {
      starts.push(i + 2);
      i++;
    } else if (c === '\n' || c === '\r') starts.push(i + 1);
  }
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
  const doc = DockerfileParser.parse(text);
  const directives = doc.getDirectives();
  const offsets = lineOffsets(text);
  const afterLine = directives.length ? Math.max(...directives.map((d) => d.getRange().end.line)) + 1 : 0;
  const at = offsets[afterLine] ?? text.length;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const prefix = at > 0 && !/[\r\n]$/.test(text.slice(0, at)) ? eol : '';
  return text.slice(0, at) + prefix + names.map((n) => `ARG ${n}${eol}`).join('') + text.slice(at);
}

/** Which of `names` a FROM instruction refers to (`$NAME` or `${NAME...}`). */
export function argsUsedInFrom(text: string, names: readonly string[]): string[] {
  const offsets = lineOffsets(text);
  const froms = DockerfileParser.parse(text)
    .getFROMs()
    .map((f) => {
      const r = f.getRange();
      return text.slice(offsets[r.start.line]! + r.start.character, offsets[r.end.line]! + r.end.character);
    })
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
  const doc = DockerfileParser.parse(text);
  const offsets = lineOffsets(text);
  const stages = new Set<string>();
  const edits: number[] = [];
  for (const from of doc.getFROMs()) {
    const image = from.getImage();
    const range = from.getImageRange();
    const hasPlatform = from.getFlags().some((f) => f.getName().toLowerCase() === 'platform');
    if (image && range && !hasPlatform && image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase())) edits.push(offsets[range.start.line]! + range.start.character);
    const stage = from.getBuildStage();
    if (stage) stages.add(stage.toLowerCase());
  }
  let out = text;
  for (const at of edits.sort((a, b) => b - a)) out = `${out.slice(0, at)}--platform=$TARGETPLATFORM ${out.slice(at)}`;
  return out;
}
