import { humanBytes } from '../util/human-bytes.js';
import type { Digest } from '../oci/digest.js';
import type { BlobOutcome, ProgressEvent, Reporter } from '../registry/transfer-events.js';

interface Group {
  blobs: number;
  bytes: number;
  /** Bytes done per blob: sent so far, or the whole blob once settled. */
  done: Map<Digest, number>;
  /** Blobs being transferred now: their size. */
  active: Map<Digest, number>;
  settled: Map<BlobOutcome | 'downloaded', number>;
  transferred: number;
  started: number;
  summarised: boolean;
}

export interface ProgressRenderer {
  reporter: Reporter;
  /**
   * Stops the timer and leaves the summary lines; `succeeded` false: the command failed, so
   * the live lines are cleared and no summary is left (its error is the one line).
   */
  done(succeeded?: boolean): void;
  /** Settles once the live display is loaded (on a TTY; at once otherwise). */
  ready: Promise<void>;
}

/** Where progress goes: a TTY tells its width. */
export interface ProgressStream {
  write(s: string): unknown;
  columns?: number;
  rows?: number;
}

export interface RendererOptions {
  /** Lines redrawn in place; otherwise plain lines. */
  tty: boolean;
  /** --quiet: one summary line per image at the end, nothing else (not on a TTY either). */
  quiet?: boolean;
  /** "pushing", "pulling", "copying". */
  verb: string;
  /** Plain mode: how often a line per busy group is written. */
  intervalMs?: number;
  now?: () => number;
}

/** Sizes as people read them: `628 B`, `1.4 KiB`, `24.0 MiB` (not "0.0 MiB" for a small blob). */
const mib = humanBytes;

/** `50.0/101.0 MiB`, or `628 B/1.4 KiB` when the units differ. */
function pair(done: number, total: number): string {
  const [a, b] = [mib(done), mib(total)];
  const [na, ua] = a.split(' ');
  return ua === b.split(' ')[1] ? `${na}/${b}` : `${a}/${b}`;
}

function shortDigest(d: string): string {
  return d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}

const HOW: Record<BlobOutcome | 'downloaded', string> = { downloaded: 'downloaded', uploaded: 'uploaded', mounted: 'mounted (not uploaded)', existing: 'already there', skipped: 'skipped (foreign layer)' };
const HOW_ORDER = Object.keys(HOW) as (keyof typeof HOW)[];

/**
 * One progress line that fits `width` columns: the label, then as many of `fields` as fit (in
 * order of importance), with a bar sized to what is left when there is room for one.
 */
export function fitLine(label: string, frac: number, fields: readonly string[], width: number): string {
  const w = Math.max(1, width - 1); // the last column would make some terminals wrap
  const bar = (n: number) => {
    const filled = Math.round(Math.min(1, Math.max(0, frac)) * n);
    return `[${'#'.repeat(filled)}${'.'.repeat(n - filled)}]`;
  };
  for (let keep = fields.length; keep >= 0; keep--) {
    const text = [label, ...fields.slice(0, keep)].join('  ');
    const room = w - text.length - 2;
    if (width >= 60 && room >= 12) {
      const n = Math.min(30, room - 2);
      const [first, ...rest] = [label, ...fields.slice(0, keep)];
      return [first, bar(n), ...rest].join('  ');
    }
    if (text.length <= w) return text;
  }
  return label.slice(0, w);
}

/**
 * Renders registry progress on stderr. On a TTY (through log-update, which redraws the lines
 * in place): a line per blob being transferred and a total line, redrawn at most ten times a
 * second and fitted to the terminal's width; a summary line per image when it is finished.
 * Otherwise plain lines: one per image as it starts, one per blob as it settles, one per busy
 * image every `intervalMs`, and a summary line per image. Retries get a line in both.
 */
export function progressRenderer(out: ProgressStream, opts: RendererOptions): ProgressRenderer {
  const now = opts.now ?? Date.now;
  const started = now();
  const groups = new Map<string, Group>();
  const width = () => out.columns ?? 80;
  // log-update and what it loads cost about 60 ms to load: only on a TTY, and without holding
  // anything up (frames before it is there are skipped; the lines that stay never wait for it).
  let live: ReturnType<typeof import('log-update').createLogUpdate> | undefined;
  const ready = !opts.tty
    ? Promise.resolve()
    : import('log-update').then(({ createLogUpdate }) => {
        live = createLogUpdate({ write: (s: string) => out.write(s), get columns() { return width(); }, get rows() { return out.rows ?? 24; }, isTTY: true } as unknown as NodeJS.WriteStream, { showCursor: true });
      });
  let lastDraw = 0;
  // A line that stays (a summary, a retry) replaces the live lines; the next frame is drawn
  // below it. Written as it is: log-update's persist() would break it at the width.
  const persist = (line: string) => {
    live?.clear();
    out.write(`${line}\n`);
  };
  const group = (name: string): Group => {
    let g = groups.get(name);
    if (!g) {
      g = { blobs: 0, bytes: 0, done: new Map(), active: new Map(), settled: new Map(), transferred: 0, started: now(), summarised: false };
      groups.set(name, g);
    }
    return g;
  };
  // The closing summaries by image name (repository, then platform): images are planned in
  // the order their pushes start, and a release pushes several components at once.
  const byName = () => [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
  const doneBytes = (g: Group) => Math.min(sum(g.done.values()), g.bytes);
  const settledCount = (g: Group) => sum(g.settled.values());
  const finished = (g: Group) => settledCount(g) >= g.blobs;
  const perSecond = (bytes: number, since: number) => {
    const secs = (now() - since) / 1000;
    return secs > 0 ? bytes / secs : 0;
  };
  const summary = (name: string, g: Group) => {
    // In HOW's order, not the order the blobs settled in (they go `--jobs` at a time): the same
    // line for the same push, as the `pushed` line's "uploaded, mounted, existing".
    const how = HOW_ORDER.flatMap((k) => (g.settled.get(k) ? [`${g.settled.get(k)} ${k}`] : [])).join(', ');
    return `berth: ${opts.verb} ${name}: ${g.blobs} blobs, ${mib(g.bytes)}${how ? ` (${how})` : ''}`;
  };

  const frame = (): string => {
    const w = width();
    const lines: string[] = [];
    let bytes = 0;
    let done = 0;
    let transferred = 0;
    let blobs = 0;
    let settled = 0;
    for (const [name, g] of groups) {
      bytes += g.bytes;
      done += doneBytes(g);
      transferred += g.transferred;
      blobs += g.blobs;
      settled += settledCount(g);
      for (const [digest, size] of g.active) {
        const d = g.done.get(digest) ?? 0;
        lines.push(fitLine(`  ${name} ${shortDigest(digest).slice(7, 19)}`, size ? d / size : 1, [pair(d, size)], w));
      }
    }
    const rate = perSecond(transferred, started);
    const left = rate > 0 && done < bytes ? `${Math.ceil((bytes - done) / rate)}s left` : '';
    lines.push(fitLine(`${opts.verb}`, bytes ? done / bytes : 1, [pair(done, bytes), `${settled}/${blobs} blobs`, `${mib(rate)}/s`, left].filter(Boolean), w));
    return lines.join('\n');
  };

  const draw = (force = false) => {
    if (!opts.tty) return;
    const t = now();
    for (const [name, g] of groups) {
      if (!g.summarised && g.blobs > 0 && finished(g)) {
        g.summarised = true;
        persist(summary(name, g));
        force = true;
      }
    }
    if (!live || (!force && t - lastDraw < 100)) return;
    lastDraw = t;
    live(frame());
  };

  const plainTick = () => {
    for (const [name, g] of groups) {
      if (finished(g)) continue;
      const d = doneBytes(g);
      out.write(`berth: ${opts.verb} ${name}: ${mib(d)} of ${mib(g.bytes)} (${g.bytes ? Math.floor((100 * d) / g.bytes) : 100}%), ${mib(perSecond(g.transferred, g.started))}/s\n`);
    }
  };
  const quiet = opts.quiet === true && !opts.tty;
  const timer = opts.tty || quiet ? undefined : setInterval(plainTick, opts.intervalMs ?? 10_000);
  timer?.unref();

  const reporter: Reporter = (e: ProgressEvent) => {
    switch (e.type) {
      case 'plan': {
        const g = group(e.group);
        g.blobs += e.blobs;
        g.bytes += e.bytes;
        if (!opts.tty && !quiet) out.write(`berth: ${opts.verb} ${e.group}: ${e.blobs} blobs, ${mib(e.bytes)}\n`);
        break;
      }
      case 'bytes': {
        const g = group(e.group);
        const before = g.done.get(e.digest) ?? 0;
        if (e.done > before) g.transferred += e.done - before;
        g.done.set(e.digest, e.done);
        g.active.set(e.digest, e.size);
        break;
      }
      case 'blob': {
        const g = group(e.group);
        g.done.set(e.digest, e.size);
        g.active.delete(e.digest);
        g.settled.set(e.how, (g.settled.get(e.how) ?? 0) + 1);
        if (!opts.tty && !quiet) out.write(`berth: ${opts.verb} ${e.group}: ${shortDigest(e.digest)} ${mib(e.size)} ${HOW[e.how]}\n`);
        break;
      }
      case 'retry': {
        if (quiet) return;
        const line = `berth: retrying ${e.what.replace(/sha256:[0-9a-f]{64}/g, shortDigest)} in ${(e.delayMs / 1000).toFixed(1)} s (try ${e.attempt + 1}): ${e.reason}`;
        persist(line);
        break;
      }
      case 'manifest':
        return;
    }
    draw();
  };

  return {
    reporter,
    ready,
    done(succeeded = true) {
      if (timer) clearInterval(timer);
      if (opts.tty && !succeeded) {
        live?.clear();
        live?.done();
        return;
      }
      if (opts.tty) {
        draw(true);
        live?.clear();
        for (const [name, g] of byName()) if (!g.summarised) persist(summary(name, g));
        if (groups.size > 0) {
          const bytes = sum([...groups.values()].map((g) => g.bytes));
          persist(`berth: ${opts.verb} done: ${groups.size} image${groups.size === 1 ? '' : 's'}, ${mib(bytes)} in ${((now() - started) / 1000).toFixed(1)} s`);
        }
        live?.done();
        return;
      }
      if (!succeeded) return;
      for (const [name, g] of byName()) out.write(`${summary(name, g)}\n`);
    },
  };
}
