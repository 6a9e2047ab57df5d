// How a cluster's nodes send each other the shards' parts of requests
// (domain/sharded-indexes.ts ShardNetwork): NATS request/reply, one subject per
// node (`fp.shard.<node>`), each message a JSON header and binary parts; and the
// shards' placement, in the catalog's KV bucket (kv-catalog.ts).
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { ServiceError, type ServiceErrorCode } from '../domain/errors';
import { ShardUnreachable, type ShardMessage, type ShardNetwork } from '../domain/sharded-indexes';
import type { KvCatalog } from './kv-catalog';
import { pack, unpack } from './frames';

const subjectOf = (node: string): string => `fp.shard.${Buffer.from(node, 'utf8').toString('base64url')}`;

/** A message as bytes (frames.ts): the header, with the parts' lengths beside it, then the parts. */
export const frame = (m: ShardMessage): Buffer => pack({ header: m.header, parts: m.parts.map((p) => p.byteLength) }, m.parts);

export function unframe(data: Uint8Array): ShardMessage {
  const { header, parts } = unpack<{ header: Record<string, unknown>; parts: number[] }>(data, (h) => h.parts, 'a shard message');
  return { header: header.header, parts };
}

export class ShardRpc implements ShardNetwork {
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    readonly node: string,
    private readonly catalog: KvCatalog,
  ) {}

  /** Answers the requests other nodes send this one with `handle`; an error goes back as its code and message. */
  serve(handle: (m: ShardMessage) => Promise<ShardMessage>): void {
    this.subscription = this.nc.subscribe(subjectOf(this.node), {
      callback: (err, msg) => {
        if (err) return;
        void (async () => {
          let answer: Buffer;
          try {
            answer = frame(await handle(unframe(msg.data)));
          } catch (e) {
            const code = (e as { code?: unknown }).code;
            const error = { code: typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_STORAGE_FAILED', message: (e as Error).message ?? String(e) };
            if (error.code === 'ERR_STORAGE_FAILED' && typeof code !== 'string') console.error('faiss-proxy: answering a shard request failed:', e);
            answer = frame({ header: { error }, parts: [] });
          }
          if (answer.length > this.nc.info!.max_payload) {
            answer = frame({ header: { error: tooLarge(answer.length, this.nc.info!.max_payload, 'answer') }, parts: [] });
          }
          msg.respond(answer);
        })();
      },
    });
  }

  requireFits(request: ShardMessage): void {
    const bytes = 4 + Buffer.byteLength(JSON.stringify({ header: request.header, parts: request.parts.map((p) => p.byteLength) })) + request.parts.reduce((s, p) => s + p.byteLength, 0);
    const max = this.nc.info!.max_payload;
    if (bytes > max) {
      const e = tooLarge(bytes, max, 'request');
      throw new ServiceError(e.code, e.message);
    }
  }

  async call(node: string, request: ShardMessage, timeoutMs: number): Promise<ShardMessage> {
    this.requireFits(request);
    const data = frame(request);
    let reply;
    try {
      reply = await this.nc.request(subjectOf(node), data, { timeout: timeoutMs });
    } catch (e) {
      const text = `${(e as Error).name} ${(e as Error).message} ${String((e as { cause?: unknown }).cause ?? '')}`;
      if (/no responders|503/i.test(text)) throw new ShardUnreachable(node, 'no responders');
      if (/timeout/i.test(text)) throw new ServiceError('ERR_STORAGE_FAILED', `Node ${node} did not answer within ${timeoutMs} ms`);
      throw new ShardUnreachable(node, text.trim());
    }
    const answer = unframe(reply.data);
    const error = answer.header.error as { code: string; message: string } | undefined;
    if (error) throw new ServiceError(error.code as ServiceErrorCode, error.message);
    return answer;
  }

  placement(id: string): readonly string[] | undefined {
    return this.catalog.placementOf(id);
  }
  setPlacement(id: string, owners: readonly string[]): void {
    this.catalog.putPlacement(id, owners);
  }
  deletePlacement(id: string): void {
    this.catalog.deletePlacement(id);
  }
  liveNodes(): string[] {
    return this.catalog.liveNodes();
  }

  close(): void {
    this.subscription?.unsubscribe();
  }
}

/** A message past NATS's max_payload (1 MiB unless the servers raise it): the client splits its request. */
function tooLarge(bytes: number, max: number, what: string): { code: ServiceErrorCode; message: string } {
  return {
    code: 'ERR_PAYLOAD_TOO_LARGE',
    message: `A shard's ${what} of ${bytes} bytes is over the cluster's NATS max_payload (${max} bytes): send fewer vectors or queries at a time, or raise max_payload (docs/cluster.md)`,
  };
}
