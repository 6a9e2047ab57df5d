// The fingerprint an idempotency key is remembered with: a CRC-32 and the byte
// length of a request given as a JSON value and its vectors. It tells a client's
// reused key from its retry; it does not defend against a forger (a key is only
// compared with the same caller's own requests). The service's collections and
// the embedded collections fingerprint their ops with it.
import { crc32 } from 'node:zlib';

export function requestFingerprint(request: unknown, x?: Float32Array): string {
  const head = Buffer.from(JSON.stringify(request));
  const bytes = x ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : new Uint8Array([0]); // "no vectors" differs from any vectors
  return `${(head.length + bytes.length).toString(16)}-${crc32(bytes, crc32(head)).toString(16)}`;
}
