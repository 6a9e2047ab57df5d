// JSON Lines of a collection's points: one `{"id": ..., "vector": [...],
// "payload": {...}}` a line (payload optional). Read line by line from a stream,
// each line's number and byte offset kept for messages.
import * as fs from 'node:fs';
import type { PointInput } from '../../../lib/collections/types';

export interface JsonlPoint {
  /** 1-based, as editors count. */
  line: number;
  offset: number;
  point: PointInput;
}

/** The points of a .jsonl file in order; blank lines are skipped. The first point's dimension is every point's. */
export async function* readJsonl(file: string): AsyncGenerator<JsonlPoint> {
  let dim: number | undefined;
  let line = 0;
  let offset = 0;
  let rest = Buffer.alloc(0);
  const parse = (bytes: Buffer, at: number, n: number): JsonlPoint | undefined => {
    const text = bytes.toString('utf8').replace(/\r$/, '');
    if (text.trim() === '') return undefined;
    const where = `${file}: line ${n} (byte offset ${at})`;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object {"id", "vector", "payload"?}`);
    const { id, vector, payload, ...unknown } = v as Record<string, unknown>;
    const extra = Object.keys(unknown);
    if (extra.length) throw new Error(`${where}: unknown field ${JSON.stringify(extra[0])}; a point has id, vector and payload`);
    if (typeof id !== 'string' || id === '') throw new Error(`${where}: "id" must be a non-empty string`);
    if (!Array.isArray(vector) || vector.length === 0) throw new Error(`${where}: "vector" must be a non-empty array of numbers`);
    vector.forEach((c, j) => {
      if (typeof c !== 'number' || !Number.isFinite(c)) throw new Error(`${where}: vector[${j}] is ${JSON.stringify(c)}: vectors hold finite numbers only`);
    });
    dim ??= vector.length;
    if (vector.length !== dim) throw new Error(`${where}: a vector of dimension ${vector.length}; the first point's is ${dim}`);
    if (payload !== undefined && payload !== null && (typeof payload !== 'object' || Array.isArray(payload))) throw new Error(`${where}: "payload" must be an object or null`);
    return { line: n, offset: at, point: { id, vector: vector as number[], ...(payload === undefined ? {} : { payload: payload as PointInput['payload'] }) } };
  };
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let nl: number;
    while ((nl = data.indexOf(10)) !== -1) {
      line++;
      const p = parse(data.subarray(0, nl), offset, line);
      offset += nl + 1;
      data = data.subarray(nl + 1);
      if (p) yield p;
    }
    rest = Buffer.from(data);
  }
  if (rest.length) {
    const p = parse(rest, offset, line + 1);
    if (p) yield p;
  }
}

/** The shortest decimal that reads back as the same float32 (0.1, not 0.10000000149011612). */
function float32Text(v: number): number {
  for (let p = 1; p < 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return t;
  }
  return v;
}

export async function createJsonl(file: string): Promise<{ write(points: { id: string; vector?: ArrayLike<number>; payload?: unknown }[]): Promise<void>; close(): Promise<void> }> {
  const fh = await fs.promises.open(file, 'w');
  return {
    async write(points) {
      const text = points
        .map((p) => JSON.stringify({ id: p.id, vector: Array.from(p.vector ?? [], float32Text), ...(p.payload === undefined || p.payload === null ? {} : { payload: p.payload }) }))
        .join('\n');
      if (text) await fh.write(`${text}\n`);
    },
    close: () => fh.close(),
  };
}
