#!/usr/bin/env node
// latency-proxy.mjs TARGET_PORT : a TCP proxy on 127.0.0.1 (a free port, printed as the first
// line of stdout) to 127.0.0.1:TARGET_PORT that makes the target look RTT_MS (env, default 20)
// away, as a registry across a network is: every chunk is held RTT/2 in each direction, in
// order per connection and direction, and a new connection carries no data before one RTT has
// passed (the TCP handshake's round trip). A half-close (FIN) is delayed like data. Only
// 127.0.0.1 is listened on and connected to. Runs until killed (SIGTERM).
//
// It models latency only: no bandwidth limit, no loss, no TLS. Small requests (manifests,
// signatures) are bound by round trips, which is what it is for; `tc netem` is not available
// on the kernel the benchmarks run on.
import net from 'node:net';

const targetPort = Number(process.argv[2]);
const rtt = Number(process.env.RTT_MS ?? 20);
if (!Number.isInteger(targetPort) || targetPort <= 0 || !(rtt >= 0)) {
  console.error('usage: RTT_MS=20 latency-proxy.mjs TARGET_PORT');
  process.exit(2);
}
const half = rtt / 2;

/**
 * One direction of a connection: chunks (and the final end) written to `to` half an RTT after
 * they arrived, not before `notBefore()` (the handshake), in arrival order.
 */
function pipeDelayed(from, to, notBefore) {
  const queue = []; // { due, chunk } ; chunk null = end
  let timer = null;
  const drain = () => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) {
      const { chunk } = queue.shift();
      if (to.destroyed) return;
      if (chunk === null) to.end();
      else to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0].due - performance.now()));
  };
  const push = (chunk) => {
    // Due half an RTT after it arrived (sent no earlier than the handshake allows); never
    // before an earlier chunk, so the order holds whatever the timers do.
    const sent = Math.max(performance.now(), notBefore());
    const last = queue.length > 0 ? queue[queue.length - 1].due : 0;
    queue.push({ due: Math.max(sent + half, last), chunk });
    if (timer === null) timer = setTimeout(drain, Math.max(0, queue[0].due - performance.now()));
  };
  from.on('data', (c) => push(c));
  from.on('end', () => push(null));
}

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const accepted = performance.now();
  // The client's bytes leave once the handshake's round trip is over.
  const established = accepted + rtt;
  const upstream = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const kill = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', kill);
  upstream.on('error', kill);
  // A side that closed cleanly sent its end through the queue; only an error cuts the other.
  client.on('close', (hadError) => hadError && upstream.destroy());
  upstream.on('close', (hadError) => hadError && client.destroy());
  pipeDelayed(client, upstream, () => established);
  pipeDelayed(upstream, client, () => 0);
});
server.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
});
const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
