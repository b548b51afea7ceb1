import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { AppError, RequestAbortedError } from './errors.js';

type NodeIncoming = IncomingMessage & { rawBody?: Buffer };
const utf8 = new TextDecoder(); // as fetch's Body.text(): UTF-8, BOM dropped

/** Reads a node request body, stopping (and answering 'too_large') as soon as it passes `maxBytes`. */
function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        resolve('too_large');
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // The stream fails, or closes before its end, only when the connection is gone: the client hung
    // up, or Node's parser refused the rest of the body (and answered that itself, see client-errors.ts).
    const onError = (err: Error) => {
      done();
      reject(new RequestAbortedError({ cause: err }));
    };
    const onClose = () => {
      done();
      reject(new RequestAbortedError());
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `request body is larger than ${maxBytes} bytes`);
  const limit = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function bodyLimitMiddleware(c, next) {
    const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
    if (!incoming || incoming.httpVersionMajor !== 1 || incoming.rawBody !== undefined) return limit(c, next); // in-process, HTTP/2: hono's check
    // Served by node over HTTP/1.x. Same rules as hono's bodyLimit, without making
    // @hono/node-server build a fetch Request and a web stream per request (measured ~0.5 ms per
    // paid card): a request with neither Content-Length nor Transfer-Encoding has no body
    // (RFC 9112 §6.3); GET and HEAD bodies are never read (node-server gives them none);
    // a declared Content-Length over the limit is refused unread; otherwise the body is read here,
    // refused as soon as it passes the limit, and handed to hono's body cache and to node-server
    // (rawBody), so every later reader sees exactly these bytes.
    const headers = incoming.headers;
    const chunked = headers['transfer-encoding'] !== undefined;
    if (headers['content-length'] === undefined && !chunked) return next();
    if (incoming.method === 'GET' || incoming.method === 'HEAD') return next();
    if (!chunked && parseInt(headers['content-length'] || '0', 10) > maxBytes) throw tooLarge();
    const body = await readIncoming(incoming, maxBytes);
    if (body === 'too_large') throw tooLarge();
    incoming.rawBody = body;
    const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
    cache['arrayBuffer'] = Promise.resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
    cache['text'] = Promise.resolve(utf8.decode(body));
    return next();
  };
}
