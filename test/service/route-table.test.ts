// The route table's lookup (service/http/route-table.ts) matches paths as
// Express's router did for the same patterns: literal segments without regard
// to case, one non-empty segment per parameter (%-decoded), one trailing slash,
// HEAD answered by GET, and a known path with another method tells what it allows.
import { strict as assert } from 'node:assert';
import { HttpError } from '../../service/http/errors';
import { RouteTable } from '../../service/http/route-table';

describe('service: the route table', () => {
  const table = new RouteTable<string>();
  table.add({ method: 'get', path: '/v1/indexes' }, 'list');
  table.add({ method: 'post', path: '/v1/indexes' }, 'create');
  table.add({ method: 'get', path: '/v1/indexes/:name' }, 'describe');
  table.add({ method: 'delete', path: '/v1/indexes/:name' }, 'delete');
  table.add({ method: 'post', path: '/v1/indexes/:name/search' }, 'search');
  table.add({ method: 'get', path: '/v1/admin/tenants/:tenant/keys' }, 'keys');

  const found = (method: string, path: string) => {
    const m = table.match(method, path);
    return m && (m.route === undefined ? { allowed: m.allowed } : { route: m.route, params: m.params });
  };

  it('finds a route and its parameters', () => {
    assert.deepEqual(found('POST', '/v1/indexes/a/search'), { route: 'search', params: { name: 'a' } });
    assert.deepEqual(found('GET', '/v1/indexes'), { route: 'list', params: {} });
    assert.deepEqual(found('GET', '/v1/admin/tenants/t1/keys'), { route: 'keys', params: { tenant: 't1' } });
  });

  it('decodes a parameter, and refuses a malformed %-escape with a 400', () => {
    assert.deepEqual(found('GET', '/v1/indexes/a%2Fb'), { route: 'describe', params: { name: 'a/b' } });
    assert.throws(() => table.match('GET', '/v1/indexes/%E0%A4%A'), (e: unknown) => e instanceof HttpError && e.status === 400 && e.code === 'ERR_BAD_REQUEST');
  });

  it('takes one trailing slash and literal segments in any case', () => {
    assert.deepEqual(found('GET', '/v1/indexes/'), { route: 'list', params: {} });
    assert.deepEqual(found('POST', '/V1/Indexes/Ab/SEARCH'), { route: 'search', params: { name: 'Ab' } });
    assert.equal(found('GET', '/v1/indexes//'), undefined);
  });

  it('knows no empty parameter, extra segment, or unknown path', () => {
    for (const p of ['/v1/indexes//search', '/v1/indexes/a/search/x', '/v1/indexes/a/compact', '/v2/indexes', '/', '', 'v1/indexes', '/v1']) {
      assert.equal(found('POST', p), undefined, p);
    }
  });

  it('answers HEAD with the GET route, and a known path with another method with what it allows', () => {
    assert.deepEqual(found('HEAD', '/v1/indexes/x'), { route: 'describe', params: { name: 'x' } });
    assert.deepEqual(found('PATCH', '/v1/indexes/x'), { allowed: ['GET', 'DELETE'] });
    assert.deepEqual(found('GET', '/v1/indexes/x/search'), { allowed: ['POST'] });
  });

  it('refuses a table with a route twice or two names for one parameter', () => {
    assert.throws(() => table.add({ method: 'get', path: '/v1/indexes' }, 'again'), /twice/);
    assert.throws(() => table.add({ method: 'get', path: '/v1/indexes/:other/x' }, 'x'), /parameter/);
  });
});
