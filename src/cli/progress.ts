import type { Digest } from '../oci/digest.js';
import type { ProgressEvent, Reporter } from '../registry/progress.js';

interface Group {
  blobs: number;
  bytes: number;
  /** Bytes done per blob: sent so far, or the whole blob once settled. */
  done: Map<Digest, number>;
  settled: Map<string, number>;
  transferred: number;
  started: number;
  finished: boolean;
}

export interface ProgressRenderer {
  reporter: Reporter;
  /** Stops the timer and writes the last state. */
  /** `succeeded` false: the command failed, so no summary (its error is the one line). */
  done(succeeded?: boolean): void;
}

export interface RendererOptions {
  /** A bar per group, redrawn in place; otherwise plain lines. */
  tty: boolean;
  /** "pushing", "pulling", "copying". */
  verb: string;
  /** Plain mode: how often a line per busy group is written. */
  intervalMs?: number;
  now?: () => number;
}

const MiB = 1024 * 1024;

function mib(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}

function shortDigest(d: string): string {
  return d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}

/**
 * Renders registry progress on stderr: on a TTY one bar per image (bytes, rate, time left),
 * redrawn at most ten times a second; otherwise a plain line per busy image every
 * `intervalMs`, a line for each retry, and a summary line per image at the end.
 */
export function progressRenderer(out: { write(s: string): unknown }, opts: RendererOptions): ProgressRenderer {
  const now = opts.now ?? Date.now;
  const groups = new Map<string, Group>();
  let drawnLines = 0;
  let lastDraw = 0;
  const group = (name: string): Group => {
    let g = groups.get(name);
    if (!g) {
      g = { blobs: 0, bytes: 0, done: new Map(), settled: new Map(), transferred: 0, started: now(), finished: false };
      groups.set(name, g);
    }
    return g;
  };
  const doneBytes = (g: Group) => [...g.done.values()].reduce((a, b) => a + b, 0);
  const settledCount = (g: Group) => [...g.settled.values()].reduce((a, b) => a + b, 0);
  const rate = (g: Group) => {
    const secs = (now() - g.started) / 1000;
    return secs > 0 ? g.transferred / secs : 0;
  };

  const barLine = (name: string, g: Group): string => {
    const d = Math.min(doneBytes(g), g.bytes);
    const frac = g.bytes > 0 ? d / g.bytes : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const r = rate(g);
    const left = r > 0 && d < g.bytes ? `${Math.ceil((g.bytes - d) / r)}s left` : g.finished ? 'done' : '';
    const parts = [`${(d / MiB).toFixed(1)}/${mib(g.bytes)}`, `${mib(r)}/s`, left, `(${settledCount(g)}/${g.blobs} blobs)`];
    return `${name.padEnd(14)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${parts.filter(Boolean).join('  ')}`;
  };

  const drawTty = (force = false) => {
    const t = now();
    if (!force && t - lastDraw < 100) return;
    lastDraw = t;
    let s = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    for (const [name, g] of groups) s += `\x1b[2K\r${barLine(name, g)}\n`;
    drawnLines = groups.size;
    out.write(s);
  };

  const plainTick = () => {
    for (const [name, g] of groups) {
      if (g.finished || settledCount(g) >= g.blobs) continue;
      const d = doneBytes(g);
      out.write(`berth: ${opts.verb} ${name}: ${mib(d)} of ${mib(g.bytes)} (${g.bytes ? Math.floor((100 * d) / g.bytes) : 100}%), ${mib(rate(g))}/s\n`);
    }
  };
  const timer = opts.tty ? undefined : setInterval(plainTick, opts.intervalMs ?? 10_000);
  timer?.unref();

  const reporter: Reporter = (e: ProgressEvent) => {
    switch (e.type) {
      case 'plan': {
        const g = group(e.group);
        g.blobs += e.blobs;
        g.bytes += e.bytes;
        break;
      }
      case 'bytes': {
        const g = group(e.group);
        const before = g.done.get(e.digest) ?? 0;
        if (e.done > before) g.transferred += e.done - before;
        g.done.set(e.digest, e.done);
        break;
      }
      case 'blob': {
        const g = group(e.group);
        g.done.set(e.digest, e.size);
        g.settled.set(e.how, (g.settled.get(e.how) ?? 0) + 1);
        if (settledCount(g) >= g.blobs) g.finished = true;
        break;
      }
      case 'retry':
        if (opts.tty && drawnLines > 0) {
          out.write(`\x1b[${drawnLines}A\x1b[J`);
          drawnLines = 0;
        }
        out.write(`berth: retrying ${e.what.replace(/sha256:[0-9a-f]{64}/g, shortDigest)} in ${(e.delayMs / 1000).toFixed(1)} s (try ${e.attempt + 1}): ${e.reason}\n`);
        break;
      case 'manifest':
        return;
    }
    if (opts.tty) drawTty();
  };

  return {
    reporter,
    /** Final bars on a TTY; otherwise one summary line per group, only when it all succeeded (a failure is its one error line). */
    done(succeeded = true) {
      if (timer) clearInterval(timer);
      if (opts.tty) {
        if (groups.size > 0) drawTty(true);
        return;
      }
      if (!succeeded) return;
      for (const [name, g] of groups) {
        const how = [...g.settled.entries()].map(([k, n]) => `${n} ${k}`).join(', ');
        out.write(`berth: ${opts.verb} ${name}: ${g.blobs} blobs, ${mib(g.bytes)}${how ? ` (${how})` : ''}\n`);
      }
    },
  };
}
