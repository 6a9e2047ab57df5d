// GET /v1/indexes/{name}/errors: the latest error answers to this tenant's requests
// on one index (what the console's index page shows), from the observer's record
// (observability/activity.ts).
import type { Request } from 'express';
import type { IndexService } from '../../domain/indexes';
import type { Activity } from '../../observability/activity';
import { principalOf } from '../auth';
import type { RouteSpec } from '../route';

/** How many an answer lists at most. */
export const INDEX_ERRORS_LISTED = 20;

export function indexErrorRoutes(indexes: IndexService, activity: Activity): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/v1/indexes/:name/errors',
      summary: `The latest error answers (at most ${INDEX_ERRORS_LISTED}, newest first) to requests on this index since the service started`,
      role: 'read',
      responses: { 200: '{ errors: [{ at, method, route, status, code, message, requestId }] }', 404: 'No such index' },
      handler: (req: Request, res) => {
        const tenant = principalOf(res.locals).tenant;
        const name = req.params.name;
        indexes.dimension(tenant, name); // 404 for an index this tenant does not have
        const errors = activity.errorsOf(tenant, name, INDEX_ERRORS_LISTED).map((e) => ({
          at: new Date(e.at).toISOString(),
          method: e.method,
          route: e.route,
          status: e.status,
          code: e.code,
          message: e.message ?? null,
          requestId: e.requestId,
        }));
        res.json({ errors });
      },
    },
  ];
}
