import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, errorBody, type ErrorCode } from './errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

const REASON: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'Bad Request',
  HEADERS_TOO_LARGE: 'Request Header Fields Too Large',
  REQUEST_TIMEOUT: 'Request Timeout',
};

function appErrorFor(code: string | undefined): AppError {
  if (code === 'HPE_HEADER_OVERFLOW') return new AppError('HEADERS_TOO_LARGE', 'request headers are too large');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('REQUEST_TIMEOUT', 'the request was not received in time');
  return new AppError('BAD_REQUEST', 'malformed HTTP request');
}

/**
 * Requests Node's HTTP parser rejects (oversized headers, a broken request line, a slow sender)
 * never reach hono; Node answers them with an empty text response. This answers them like every
 * other error: `{error, code}` JSON with the security headers, then closes the connection.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (err.code === 'ECONNRESET' || !socket.writable || started) {
      socket.destroy();
      return;
    }
    const error = appErrorFor(err.code);
    const body = JSON.stringify(errorBody(error));
    const headers = [
      `HTTP/1.1 ${error.status} ${REASON[error.code] ?? 'Error'}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      ...SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}`),
    ];
    socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
  });
}
