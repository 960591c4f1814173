/**
 * berth's stderr as a person sees it on a terminal: no line passes the terminal's width
 * (digests shortened to 12 hex digits, as docker shows them, and long lines wrapped at a word
 * with an indent), and a spinner for a long single step (compressing a layer, an engine run)
 * redrawn in place. In a pipe or a CI log nothing is changed, and a long step prints a plain
 * line every `intervalMs`. Digests stay whole on stdout and in --json.
 */
import type { CliIO } from './io.js';

type Stderr = CliIO['stderr'];
const SCREEN = Symbol('berth.screen');

const ESC = '\u001b';
const FRAMES = ['|', '/', '-', '\\'];

/**
 * A line fitted to `width` columns: as it is when it fits; else its digests shortened; else
 * also wrapped at spaces with a 4-space indent (unless `wrap` is false).
 */
export function fitToWidth(line: string, width: number, opts: { wrap?: boolean } = {}): string {
  const w = Math.max(20, width - 1); // the last column makes some terminals wrap
  if (line.length <= w) return line;
  const short = line.replace(/\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b/g, '$1');
  if (short.length <= w || opts.wrap === false) return short;
  const out: string[] = [];
  let rest = short;
  let indent = '';
  while ((indent + rest).length > w) {
    const room = w - indent.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= 0) cut = room; // one word longer than the line: cut it
    out.push(indent + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    indent = '    ';
  }
  if (rest) out.push(indent + rest);
  return out.join('\n');
}

interface Spinner {
  label: string;
  started: number;
  frame: number;
  shown: boolean;
}

/** The terminal stderr: fits berth's lines, and owns the spinner line. */
class TerminalStderr {
  readonly isTTY = true;
  spinner: Spinner | undefined;
  constructor(private readonly inner: Stderr) {}
  get columns(): number | undefined {
    return this.inner.columns;
  }
  get rows(): number | undefined {
    return this.inner.rows;
  }
  clearSpinner(): void {
    if (this.spinner?.shown) {
      this.inner.write(`\r${ESC}[2K`);
      this.spinner.shown = false;
    }
  }
  drawSpinner(now: number): void {
    const s = this.spinner;
    if (!s) return;
    s.frame++;
    const text = fitToWidth(`berth: ${s.label} ${FRAMES[s.frame % FRAMES.length]} ${((now - s.started) / 1000).toFixed(0)} s`, this.inner.columns ?? 80).split('\n')[0]!;
    this.inner.write(`\r${ESC}[2K${text}`);
    s.shown = true;
  }
  write(chunk: string): unknown {
    this.clearSpinner();
    // Drawings (the transfer display's escape sequences) pass as they are; berth's lines are fitted.
    if (chunk.includes(ESC) || !chunk.endsWith('\n')) return this.inner.write(chunk);
    const width = this.inner.columns ?? 80;
    return this.inner.write(`${chunk.slice(0, -1).split('\n').map((l) => fitToWidth(l, width)).join('\n')}\n`);
  }
}

/**
 * The io a command runs with: on a terminal, stderr fitted to it, and stdout's lines too wide
 * for it fitted too (digests shortened, then wrapped: `inspect`), unless `exact` (--json, --raw: bytes a
 * program reads). Elsewhere `io` itself.
 */
export function screenIO(io: CliIO, opts: { exact?: boolean } = {}): CliIO {
  let out = io;
  const stdout = io.stdout as CliIO['stdout'] & { isTTY?: boolean; columns?: number };
  if (stdout.isTTY === true && !opts.exact) {
    out = {
      ...out,
      stdout: {
        write: (chunk: string) =>
          chunk.endsWith('\n') && !chunk.includes(ESC) ? stdout.write(`${chunk.slice(0, -1).split('\n').map((l) => fitToWidth(l, stdout.columns ?? 80)).join('\n')}\n`) : stdout.write(chunk),
      },
    };
  }
  if (io.stderr.isTTY !== true) return out;
  const stderr = new TerminalStderr(io.stderr);
  return { ...out, stderr: Object.assign(stderr, { [SCREEN]: stderr }) };
}

/**
 * Runs a long single step with a sign of life: on a terminal a spinner with the seconds
 * spent, shown after `delayMs` and redrawn in place; elsewhere a line every `intervalMs`.
 * Lines written meanwhile (an engine's output) clear the spinner and it is drawn again below.
 */
export async function busy<T>(io: CliIO, label: string, fn: () => Promise<T>, opts: { delayMs?: number; intervalMs?: number; now?: () => number } = {}): Promise<T> {
  const now = opts.now ?? Date.now;
  const started = now();
  const terminal = (io.stderr as { [SCREEN]?: TerminalStderr })[SCREEN];
  let timer: NodeJS.Timeout | undefined;
  if (terminal) {
    terminal.spinner = { label, started, frame: 0, shown: false };
    const first = setTimeout(() => {
      terminal.drawSpinner(now());
      timer = setInterval(() => terminal.drawSpinner(now()), 125);
      timer.unref();
    }, opts.delayMs ?? 1000);
    first.unref();
    try {
      return await fn();
    } finally {
      clearTimeout(first);
      if (timer) clearInterval(timer);
      terminal.clearSpinner();
      terminal.spinner = undefined;
    }
  }
  timer = setInterval(() => io.stderr.write(`berth: ${label}: still working, ${Math.round((now() - started) / 1000)} s\n`), opts.intervalMs ?? 10_000);
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
