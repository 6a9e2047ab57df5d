// Clients that do not keep their side of a connection. answerClientError: what a
// client hears when Node's HTTP parser or its timeouts give up on its request:
// Node's own answers (a bare 400 or 408 with no body) in the service's shape,
// { error: { code, message } }, then the connection is closed; nothing is
// written once an answer has started (that would corrupt it).
// abandonStalledAnswer: a client that stops reading its answer.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const ANSWERS: Record<string, [number, string, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'ERR_REQUEST_TIMEOUT', 'The request (headers and body) was not received within the request timeout'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'ERR_HEADERS_TOO_LARGE', 'The request headers are too large'],
};
const BAD_REQUEST: [number, string, string, string] = [400, 'Bad Request', 'ERR_BAD_REQUEST', 'The request is not valid HTTP'];

export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const [status, reason, code, message] = ANSWERS[err.code ?? ''] ?? BAD_REQUEST;
    const body = JSON.stringify({ error: { code, message } });
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * The server's 'timeout' listener (server.timeout: no progress on a connection
 * for that long). A client that stops reading its answer would hold the answer
 * (an export can be gigabytes) and the connection for ever: once an answer has
 * started and made no progress for the timeout, the connection is closed. A
 * connection whose answer has not started (a long training running, or the body
 * still arriving, which the request timeout bounds) is left alone; an idle
 * keep-alive one is closed, as Node would without this listener.
 */
export function abandonStalledAnswer(socket: Socket): void {
  const answer = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (answer && !answer.headersSent) return;
  socket.destroy();
}
