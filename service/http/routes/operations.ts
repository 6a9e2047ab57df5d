// What operators use: /metrics (Prometheus), the dashboard's data
// (/v1/admin/overview, /v1/admin/activity). All for the operator only; /metrics
// also takes a separate token, for a scraper that should hold no admin key.
import type { Request } from 'express';
import { nativeHeap, poolStats } from '../../../lib';
import { ServiceError } from '../../domain/errors';
import type { IndexService } from '../../domain/indexes';
import type { Collections } from '../../domain/collections';
import type { KeyService, Principal } from '../../domain/keys';
import type { TenantService } from '../../domain/tenants';
import type { Activity } from '../../observability/activity';
import type { Metrics } from '../../observability/metrics';
import type { StorageHealth } from '../../storage/health';
import type { RouteSpec } from '../route';
import { sameSecret } from '../secret';
import { OPERATOR_TENANT } from './admin';

const isOperator = (p: Principal | undefined): boolean => p?.role === 'admin' && p.tenant === OPERATOR_TENANT;

export function operationRoutes(deps: {
  indexes: IndexService;
  collections: Collections;
  tenants: TenantService;
  keys: KeyService;
  metrics: Metrics;
  activity: Activity;
  metricsToken?: string;
  health?: StorageHealth;
  /** A cluster's node: its name and the nodes it hears of (their heartbeats in the catalog). */
  cluster?: { node: string; nodes: () => { node: string; at: number; startedAt: number; lag: number }[] };
}): RouteSpec[] {
  const { indexes, collections, tenants, keys, metrics, activity, metricsToken, health, cluster } = deps;
  const requireOperator = (res: { locals: Record<string, unknown> }) => {
    if (!isOperator(res.locals.principal as Principal | undefined)) throw new ServiceError('ERR_FORBIDDEN', 'Only an admin key of the admin tenant sees this');
  };
  /** The operator's key, or the metrics token as "Authorization: Bearer <token>". */
  const scraperAllowed = (req: Request): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.header('Authorization') ?? '')?.[1];
    if (metricsToken && bearer && sameSecret(bearer, metricsToken)) return true;
    const key = req.header('X-API-Key');
    return key !== undefined && isOperator(keys.verify(key));
  };

  return [
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text format); needs the operator key (X-API-Key) or the metrics token (Authorization: Bearer)',
      role: null,
      responses: { 200: 'Prometheus text exposition', 401: 'No or wrong credentials' },
      handler: async (req, res) => {
        if (!scraperAllowed(req)) throw new ServiceError('ERR_UNAUTHENTICATED', 'Metrics need the operator key (X-API-Key) or the metrics token (Authorization: Bearer)');
        res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    },
    {
      method: 'get',
      path: '/v1/admin/overview',
      summary: 'Tenants, indexes, collections, cache, storage and thread-pool health (the dashboard)',
      role: 'admin',
      responses: { 200: '{ tenants, indexes, collections, cache, gpus, storage, pool, process }' },
      handler: (_req, res) => {
        requireOperator(res);
        const status = indexes.status();
        const collectionStatus = collections.status();
        const ages = [...status, ...collectionStatus].map((s) => s.snapshotAgeSeconds).filter((a): a is number => a !== undefined);
        const memory = process.memoryUsage();
        res.json({
          tenants: tenants.list().map((t) => ({ ...t, usage: indexes.usage(t.name) })),
          indexes: status,
          collections: collectionStatus,
          cache: indexes.cacheStats(),
          // Each GPU of serve --gpu: its indexes' bytes, budget, CUDA's free / total memory, searches ([] without --gpu).
          gpus: indexes.gpuStatus(),
          storage: {
            logBytes: [...status, ...collectionStatus].reduce((s, i) => s + i.logBytes, 0),
            oldestSnapshotAgeSeconds: ages.length ? Math.max(...ages) : null,
            /** The storage fault readiness is false for (null: healthy). */
            fault: health?.current ?? null,
            logDamage: indexes.logDamage(),
          },
          pool: poolStats(),
          ...(cluster && {
            cluster: {
              node: cluster.node,
              nodes: cluster.nodes().map((n) => ({ ...n, heartbeatAgeSeconds: Math.max(0, (Date.now() - n.at) / 1000) })),
              // Each shard of each sharded index and the node owning it (docs/cluster.md).
              shards: indexes.shardOwnership(),
              // Each shard of each sharded collection and the node owning it.
              collectionShards: indexes.collectionShardOwnership(),
            },
          }),
          process: {
            rssBytes: memory.rss,
            heapUsedBytes: memory.heapUsed,
            // null where the C library does not report it (lib nativeHeap())
            nativeHeapInUseBytes: nativeHeap()?.inUseBytes ?? null,
            uptimeSeconds: process.uptime(),
          },
        });
      },
    },
    {
      method: 'get',
      path: '/v1/admin/activity',
      summary: 'Throughput and latency every 2 s over the last 5 minutes, and recent errors (the dashboard)',
      role: 'admin',
      responses: { 200: '{ intervalMs, samples: [{ at, requestsPerSecond, p50Ms, p99Ms, errors }], errors: [...] }' },
      handler: (_req, res) => {
        requireOperator(res);
        res.json(activity.snapshot());
      },
    },
  ];
}
