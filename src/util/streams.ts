/**
 * Stream helpers on node:stream/consumers: one way to read a whole stream (a config blob, a
 * signature, an attestation envelope) into memory. For bounded reads of HTTP answers, see
 * registry/http.ts's readBody, which also names the request in its errors.
 */
import { buffer } from 'node:stream/consumers';

/** Everything `stream` (a Node stream, a web stream or any async iterable of bytes or strings) yields, as one Buffer. */
export async function readAll(stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  return buffer(stream as AsyncIterable<Uint8Array | string>);
}
