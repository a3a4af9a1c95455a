/**
 * Every paginator against a real HTTP server on 127.0.0.1 serving the same 257 items in each
 * paging style: every item arrives exactly once, the right number of requests is made, and the
 * end of a listing is recognised by the style's own signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startHttpServer, type RecordedRequest, type TestHttpServer } from '../../../test/fakes/http-server.ts';
import {
  bodyCursorPaginator,
  checkpointPaginator,
  linkHeaderPaginator,
  nextUrlInBodyPaginator,
  noPaginator,
  odataNextLinkPaginator,
  jsonBodyField,
  offsetPaginator,
  pageNumberPaginator,
  parseLinkHeader,
  type Paginator,
} from './paginators.ts';
import { jsonPathSelector } from './record-selector.ts';
import { Requester } from './requester.ts';
import type { HttpRequest } from './types.ts';

const TOTAL = 257;
const ITEMS = Array.from({ length: TOTAL }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
const int = (v: string | null, d: number) => (v === null ? d : Number(v));

function route(req: RecordedRequest, res: import('node:http').ServerResponse, server: TestHttpServer): void {
  const q = req.url.searchParams;
  switch (req.url.pathname) {
    case '/link/items': {
      const page = int(q.get('page'), 1);
      const size = int(q.get('per_page'), 30);
      const slice = ITEMS.slice((page - 1) * size, page * size);
      const last = Math.ceil(TOTAL / size);
      const links = [`</link/items?page=${last}&per_page=${size}>; rel="last"`];
      // relative link, unquoted rel, and a link with several relation types, as real servers send
      if (page < last) links.unshift(`</link/items?per_page=${size}&page=${page + 1}>; title="next page"; rel="next prefetch"`);
      return sendJson(res, 200, slice, { link: links.join(', ') });
    }
    case '/odata/users': {
      const skip = int(q.get('$skiptoken'), 0);
      const slice = ITEMS.slice(skip, skip + 50);
      const more = skip + 50 < TOTAL;
      return sendJson(res, 200, {
        value: slice,
        ...(more ? { '@odata.nextLink': `${server.url}/odata/users?$skiptoken=${skip + 50}` } : { '@odata.deltaLink': `${server.url}/odata/users/delta?$deltatoken=abc` }),
      });
    }
    case '/google/users': {
      const start = q.get('pageToken') ? Number(Buffer.from(q.get('pageToken')!, 'base64url').toString()) : 0;
      const size = int(q.get('maxResults'), 100);
      const slice = ITEMS.slice(start, start + size);
      const next = start + size < TOTAL ? Buffer.from(String(start + size)).toString('base64url') : undefined;
      return sendJson(res, 200, { kind: 'admin#directory#users', ...(slice.length ? { users: slice } : {}), ...(next ? { nextPageToken: next } : {}) });
    }
    case '/offset/items': {
      const limit = int(q.get('limit'), 10);
      const offset = int(q.get('offset'), 0);
      return sendJson(res, 200, { data: ITEMS.slice(offset, offset + limit), meta: { total: TOTAL } });
    }
    case '/auth0/users': {
      const page = int(q.get('page'), 0);
      const perPage = int(q.get('per_page'), 50);
      return sendJson(res, 200, { users: ITEMS.slice(page * perPage, (page + 1) * perPage), start: page * perPage, limit: perPage, total: TOTAL });
    }
    case '/next/items': {
      const at = int(q.get('at'), 0);
      const next = at + 40 < TOTAL ? `/next/items?at=${at + 40}` : null;
      return sendJson(res, 200, { results: ITEMS.slice(at, at + 40), links: { next } });
    }
    case '/auth0/organizations': {
      const from = q.get('from') ? Number(q.get('from')) : 0;
      const take = int(q.get('take'), 50);
      const slice = ITEMS.slice(from, from + take);
      return sendJson(res, 200, { organizations: slice, ...(from + take < TOTAL ? { next: String(from + take) } : {}) });
    }
    case '/search': {
      const { variables } = JSON.parse(req.body) as { variables: { limit: number; offset: number } };
      return sendJson(res, 200, { data: { items: ITEMS.slice(variables.offset, variables.offset + variables.limit) } });
    }
    case '/loop':
      return sendJson(res, 200, { items: [{ id: 1 }], cursor: 'same' });
    default:
      return sendJson(res, 404, { message: 'no route' });
  }
}

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer((req, res) => route(req, res, server));
});
afterAll(() => server.close());

async function readAll(req: HttpRequest, paginator: Paginator, path: string): Promise<{ ids: number[]; pages: number; requests: number }> {
  const before = server.requests.length;
  const requester = new Requester({ source: 'test', baseUrl: server.url });
  const ids: number[] = [];
  let pages = 0;
  for await (const page of requester.paginate<{ id: number }>(req, paginator, jsonPathSelector(path))) {
    pages += 1;
    ids.push(...page.map((r) => r.id));
  }
  return { ids, pages, requests: server.requests.length - before };
}

const everyItemOnce = (ids: number[]) => expect([...ids].sort((a, b) => a - b)).toEqual(ITEMS.map((i) => i.id));

describe('paginators', () => {
  it('link header: follows rel="next" (relative URLs, several relation types) to the last page', async () => {
    const r = await readAll({ url: '/link/items', query: { per_page: 20 } }, linkHeaderPaginator(), '$');
    everyItemOnce(r.ids);
    expect(r.requests).toBe(Math.ceil(TOTAL / 20));
  });

  it('OData: follows @odata.nextLink and surfaces @odata.deltaLink as the end state', async () => {
    const requester = new Requester({ source: 'test', baseUrl: server.url });
    const ids: number[] = [];
    let end: Record<string, unknown> | undefined;
    for await (const page of requester.pages<{ id: number }>({ url: '/odata/users' }, odataNextLinkPaginator(), jsonPathSelector('$.value[*]'))) {
      ids.push(...page.records.map((r) => r.id));
      if (!page.next) end = page.end;
      else expect(page.end).toBeUndefined();
    }
    everyItemOnce(ids);
    expect(end).toEqual({ deltaLink: `${server.url}/odata/users/delta?$deltatoken=abc` });
  });

  it('body cursor: sends nextPageToken back as pageToken until there is none', async () => {
    const r = await readAll({ url: '/google/users', query: { maxResults: 100, customer: 'my_customer' } }, bodyCursorPaginator({ cursorPath: 'nextPageToken', param: 'pageToken' }), '$.users');
    everyItemOnce(r.ids);
    expect(r.requests).toBe(3);
    expect(server.requests.at(-1)!.url.searchParams.get('customer')).toBe('my_customer');
  });

  it('body cursor: stopWhen ends the listing early', async () => {
    const r = await readAll({ url: '/google/users', query: { maxResults: 100 } }, bodyCursorPaginator({ cursorPath: 'nextPageToken', param: 'pageToken', stopWhen: () => true }), '$.users');
    expect(r.ids).toHaveLength(100);
  });

  it('offset: a short page ends the listing, and so does a total', async () => {
    const short = await readAll({ url: '/offset/items' }, offsetPaginator({ pageSize: 50 }), '$.data');
    everyItemOnce(short.ids);
    expect(short.requests).toBe(6);
    // 256 = 4 × 64: without a total a short page never comes, the total ends it without an empty request
    const exact = await readAll({ url: '/offset/items' }, offsetPaginator({ pageSize: TOTAL, totalPath: '$.meta.total' }), '$.data');
    everyItemOnce(exact.ids);
    expect(exact.requests).toBe(1);
  });

  it('page number: Auth0 page/per_page from page 0 with include_totals', async () => {
    const r = await readAll({ url: '/auth0/users', query: { include_totals: true } }, pageNumberPaginator({ pageSize: 50, start: 0, totalPath: 'total' }), 'users');
    everyItemOnce(r.ids);
    expect(r.requests).toBe(6);
    expect(server.requests.at(-1)!.url.searchParams.get('page')).toBe('5');
    expect(server.requests.at(-1)!.url.searchParams.get('include_totals')).toBe('true');
  });

  it('page number without a total stops at a short page', async () => {
    const r = await readAll({ url: '/auth0/users' }, pageNumberPaginator({ pageSize: 100, start: 0 }), 'users');
    everyItemOnce(r.ids);
    expect(r.requests).toBe(3);
  });

  it('next URL in the body: follows links.next until it is null', async () => {
    const r = await readAll({ url: '/next/items' }, nextUrlInBodyPaginator('$.links.next'), '$.results');
    everyItemOnce(r.ids);
    expect(r.requests).toBe(Math.ceil(TOTAL / 40));
  });

  it('checkpoint: Auth0 from/take with next', async () => {
    const r = await readAll({ url: '/auth0/organizations' }, checkpointPaginator({ pageSize: 60 }), 'organizations');
    everyItemOnce(r.ids);
    expect(r.requests).toBe(5);
    expect(server.requests.at(-1)!.url.searchParams.get('from')).toBe('240');
  });

  it('offset in GraphQL-style variables of a POST body', async () => {
    const r = await readAll(
      { method: 'POST', url: '/search', body: { query: 'query($limit: Int!, $offset: Int!) { items }', variables: { extra: 1 } } },
      offsetPaginator({ pageSize: 100, params: jsonBodyField('variables') }),
      '$.data.items',
    );
    everyItemOnce(r.ids);
    expect(r.requests).toBe(3);
    expect(JSON.parse(server.requests.at(-1)!.body)).toMatchObject({ variables: { extra: 1, limit: 100, offset: 200 } });
  });

  it('no paginator: one page', async () => {
    const r = await readAll({ url: '/offset/items', query: { limit: 5 } }, noPaginator, '$.data');
    expect(r.ids).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses a paginator that asks for the same page again', async () => {
    await expect(readAll({ url: '/loop', query: { cursor: 'same' } }, bodyCursorPaginator({ cursorPath: 'cursor', param: 'cursor' }), 'items')).rejects.toMatchObject({
      kind: 'protocol',
      message: expect.stringContaining('same page twice'),
    });
  });
});

describe('parseLinkHeader', () => {
  it('reads quoted, unquoted and multi-valued relations', () => {
    const links = parseLinkHeader('<https://a.example/x?after=1>; rel=next, <https://a.example/y>; rel="self first", <https://a.example/z>; title="a, b"; rel="last"');
    expect(links.get('next')).toBe('https://a.example/x?after=1');
    expect(links.get('self')).toBe('https://a.example/y');
    expect(links.get('first')).toBe('https://a.example/y');
    expect(links.get('last')).toBe('https://a.example/z');
    expect(parseLinkHeader(null).size).toBe(0);
  });
});
