/**
 * A fault-injecting HTTP proxy on 127.0.0.1, put between berth and a registry. Requests are
 * forwarded unchanged (Host included, so the registry's upload Locations point back at the
 * proxy) unless a fault matches: answer with a status (500, 503, 429 with Retry-After...),
 * cut the connection part-way through the request body or the response body, shorten or
 * corrupt a response, slow it down, stay silent, or reset. `cutAfter` resets every request
 * after the first N. `random` faults a share of all requests, chosen by a seeded generator.
 *
 *   const proxy = await startFaultProxy({ target: registry.host, faults: [
 *     { method: 'PATCH', times: 1, action: { kind: 'drop-request', afterBytes: 1 << 20 } },
 *     { method: 'HEAD', path: /\/blobs\//, times: 2, action: { kind: 'status', status: 503 } },
 *   ] });
 *   ... push to proxy.host ...
 *   expect(proxy.log.filter((l) => l.fault)).toHaveLength(3);
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

export type FaultAction =
  /** Answer at once with this status (and Retry-After, and a distribution error body). */
  | { kind: 'status'; status: number; retryAfter?: number | string; code?: string }
  /** Forward the first `afterBytes` of the request body, then cut both connections. */
  | { kind: 'drop-request'; afterBytes: number }
  /** Forward the response's headers (their Content-Length kept) and `bytes` of its body, then cut. */
  | { kind: 'truncate-response'; bytes: number }
  /** Forward only `bytes` of the body with Content-Length made to match: short but clean. */
  | { kind: 'shorten-response'; bytes: number }
  /** Flip one byte in the middle of the response body (length unchanged). */
  | { kind: 'corrupt-response' }
  /** Forward the response body `chunkBytes` at a time, one piece every `delayMs`. */
  | { kind: 'slow-response'; chunkBytes: number; delayMs: number }
  /** Take the request and never answer (the connection stays open until the proxy closes). */
  | { kind: 'silent' }
  /** Close the connection without an answer. */
  | { kind: 'reset' };

/** A share of requests faulted at random: what a flaky network does to a long job. */
export interface RandomFaults {
  /** The share of requests faulted, from 0 to 1. */
  rate: number;
  /** The generator's seed: the same seed draws the same sequence. */
  seed: number;
  /** What a faulted request gets, drawn evenly (default: RANDOM_ACTIONS). */
  actions?: FaultAction[];
}

/** Connection resets, 5xx, 429 with Retry-After, bodies cut part-way, closes right after the headers. */
export const RANDOM_ACTIONS: FaultAction[] = [
  { kind: 'reset' },
  { kind: 'status', status: 500 },
  { kind: 'status', status: 503 },
  { kind: 'status', status: 429, retryAfter: 1 },
  { kind: 'truncate-response', bytes: 100 },
  { kind: 'truncate-response', bytes: 0 },
];

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Fault {
  /** Only this method (exact). */
  method?: string;
  /** Only paths (with query) matching this. */
  path?: RegExp;
  /** Let this many matching requests through first (default 0). */
  skip?: number;
  /** Then apply to this many matching requests (default: every one). */
  times?: number;
  action: FaultAction;
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  /** The status the client got, when it got one. */
  status?: number;
  /** The fault applied, if any. */
  fault?: FaultAction['kind'];
  /** Bytes of request body the proxy received from the client. */
  bytes: number;
}

export interface FaultProxyOptions {
  /** `127.0.0.1:PORT` of the registry. */
  target: string;
  faults?: Fault[];
  /** Reset every request after this many. */
  cutAfter?: number;
  random?: RandomFaults;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly log: ProxyLogEntry[];
  /** Replaces the faults (their counters, and the count `cutAfter` is from, start again). */
  setFaults(faults: Fault[], cutAfter?: number): void;
  /** Faults a share of requests at random from now on (undefined: no more). */
  setRandom(random: RandomFaults | undefined): void;
  close(): Promise<void>;
}

function matches(f: Fault, method: string, path: string): boolean {
  return (f.method === undefined || f.method === method) && (f.path === undefined || f.path.test(path));
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const [targetHost, targetPort] = [opts.target.split(':')[0]!, Number(opts.target.split(':')[1])];
  if (targetHost !== '127.0.0.1' && targetHost !== 'localhost') throw new Error('the fault proxy forwards to 127.0.0.1 only');
  let faults: { fault: Fault; seen: number }[] = [];
  let cutAfter: number | undefined;
  let total = 0;
  let random: { rate: number; actions: FaultAction[]; next: () => number } | undefined;
  const setRandom = (r: RandomFaults | undefined) => {
    random = r && { rate: r.rate, actions: r.actions ?? RANDOM_ACTIONS, next: generator(r.seed) };
  };
  setRandom(opts.random);
  const silent = new Set<() => void>();
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();
  const set = (fs: Fault[], cut?: number) => {
    faults = fs.map((fault) => ({ fault, seen: 0 }));
    cutAfter = cut;
    total = 0;
  };
  set(opts.faults ?? [], opts.cutAfter);

  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const entry: ProxyLogEntry = { method, path, bytes: 0 };
    log.push(entry);
    req.on('data', (c: Buffer) => (entry.bytes += c.length));
    total++;
    let action: FaultAction | undefined;
    for (const f of faults) {
      if (!matches(f.fault, method, path)) continue;
      f.seen++;
      const skip = f.fault.skip ?? 0;
      if (f.seen > skip && (f.fault.times === undefined || f.seen <= skip + f.fault.times)) {
        action = f.fault.action;
        break;
      }
    }
    if (cutAfter !== undefined && total > cutAfter) action = { kind: 'reset' };
    if (!action && random && random.next() < random.rate) action = random.actions[Math.floor(random.next() * random.actions.length)];
    if (action) entry.fault = action.kind;
    const cut = () => {
      req.socket.destroy();
    };
    if (action?.kind === 'reset') return cut();
    if (action?.kind === 'silent') {
      req.resume();
      silent.add(cut);
      return;
    }
    if (action?.kind === 'status') {
      entry.status = action.status;
      const body = JSON.stringify({ errors: [{ code: action.code ?? (action.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE'), message: 'injected by the fault proxy' }] });
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' };
      if (action.retryAfter !== undefined) headers['retry-after'] = action.retryAfter;
      // Answered once the request body is in, as a registry answers: answering first and
      // closing would make a client still sending a large body see EPIPE instead of the
      // status, at random (a cut mid-body is the drop-request fault's job).
      const status = action.status;
      req.on('end', () => {
        res.writeHead(status, headers);
        res.end(body);
      });
      req.resume();
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: targetPort, method, path, headers: req.headers });
    upstream.on('error', () => cut());
    upstream.on('response', (up) => {
      entry.status = up.statusCode;
      const headers: IncomingHttpHeaders = { ...up.headers };
      if (action?.kind === 'truncate-response') {
        res.writeHead(up.statusCode ?? 502, headers);
        let sent = 0;
        up.on('data', (c: Buffer) => {
          if (sent >= action.bytes) return;
          const piece = c.subarray(0, action.bytes - sent);
          sent += piece.length;
          res.write(piece, () => {
            if (sent >= action.bytes) cut();
          });
        });
        up.on('end', () => cut());
        return;
      }
      if (action?.kind === 'slow-response') {
        res.writeHead(up.statusCode ?? 502, headers);
        const { chunkBytes, delayMs } = action;
        const send = async (piece: Buffer) => {
          if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
          await new Promise((r) => setTimeout(r, delayMs));
        };
        (async () => {
          let pending = Buffer.alloc(0);
          for await (const c of up) {
            pending = Buffer.concat([pending, c as Buffer]);
            while (pending.length >= chunkBytes) {
              await send(pending.subarray(0, chunkBytes));
              pending = pending.subarray(chunkBytes);
            }
          }
          if (pending.length) await send(pending);
          res.end();
        })().catch(() => cut());
        return;
      }
      if (action?.kind === 'shorten-response' || action?.kind === 'corrupt-response') {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          let body = Buffer.concat(chunks);
          if (action.kind === 'shorten-response') body = body.subarray(0, action.bytes);
          else if (body.length > 0) {
            body = Buffer.from(body);
            const i = Math.floor(body.length / 2);
            body[i] = body[i]! ^ 0x01;
          }
          headers['content-length'] = String(body.length);
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(body);
        });
        return;
      }
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
    if (action?.kind === 'drop-request') {
      let forwarded = 0;
      req.on('data', (c: Buffer) => {
        if (forwarded >= action.afterBytes) return;
        const piece = c.subarray(0, action.afterBytes - forwarded);
        forwarded += piece.length;
        upstream.write(piece);
        if (forwarded >= action.afterBytes) {
          // Give the registry the bytes, then cut both sides mid-body.
          setTimeout(() => {
            upstream.destroy();
            cut();
          }, 20);
        }
      });
      req.on('end', () => {
        upstream.destroy();
        cut();
      });
      return;
    }
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    log,
    setFaults: set,
    setRandom,
    close: () =>
      new Promise((r) => {
        for (const c of silent) c();
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
