// A lean HTTP/1.1 keep-alive client for the load generator: one TCP socket per
// client, each request written as one prebuilt buffer (head and body), the
// answer parsed only as far as a load generator must: status, Content-Length,
// body. node:http's client builds a request object, a parser and header maps per
// request; on the 2 cores the generator shares with the server, that work is taken
// from the server under test (measured: npm run bench prints both generators).
// Answers must carry Content-Length (faiss-proxy's always do); chunked answers
// are reported as errors rather than half-parsed.
import * as net from 'node:net';

export interface RawAnswer {
  status: number;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** POST `path` with `headers` and `body`, as the bytes that go on the wire. */
export function requestBytes(host: string, path: string, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export class RawHttpConnection {
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('The server closed the connection')));
  }

  static open(host: string, port: number): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new RawHttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one prebuilt request (see requestBytes) and resolves with its answer; one at a time. */
  send(bytes: Buffer): Promise<RawAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('One request at a time per connection'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const length = CONTENT_LENGTH.exec(head);
    if (!length) return this.fail(new Error(`An answer without Content-Length: ${head.slice(0, 200)}`));
    const bodyStart = headEnd + HEAD_END.length;
    const end = bodyStart + Number(length[1]);
    if (this.buffered.length < end) return;
    if (this.buffered.length > end) return this.fail(new Error('Bytes after the answer to the only request in flight'));
    const answer = { status: Number(head.slice(9, 12)), body: this.buffered.subarray(bodyStart, end) };
    this.buffered = Buffer.alloc(0);
    const p = this.pending;
    this.pending = null;
    p?.resolve(answer);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
    this.socket.destroy();
  }
}
