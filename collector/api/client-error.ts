/**
 * Answers requests that node's HTTP parser refuses before any route sees them (a header block over
 * the limit, a request line that is not HTTP, a bad Content-Length) in the collector's own error
 * shape, one JSON line, instead of node's empty-bodied reply: clients and scripts get the same
 * `{"error": ...}` from every refusal.
 */
import type { Socket } from 'node:net';

interface ParserError extends Error {
  readonly code?: string;
}

export function answerClientError(err: ParserError, socket: Socket): void {
  // A reset or an already closed socket has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers (or the query string) too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request not received in time']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
