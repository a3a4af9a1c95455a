import { describe, expect, it } from 'vitest';
import { parseJsonPath, readJsonPath, selectJsonPath, valueAtDotPath } from './json-path.ts';

const body = {
  data: { items: [{ id: 1, tags: ['a'] }, { id: 2, tags: ['b', 'c'] }], total: 2 },
  value: [{ id: 'u1' }, { id: 'u2' }],
  edges: [{ node: { id: 'n1' } }, { node: { id: 'n2' } }],
  'odd key': { x: 1 },
  '@odata.nextLink': 'https://graph.example/next',
  one: { id: 'solo' },
};

describe('json path subset', () => {
  it('selects records: the root, nested arrays, wildcards, single objects, missing paths', () => {
    expect(selectJsonPath([1, 2], '$')).toEqual([1, 2]);
    expect(selectJsonPath(body, '$.data.items').map((r) => (r as { id: number }).id)).toEqual([1, 2]);
    expect(selectJsonPath(body, 'data.items')).toHaveLength(2);
    expect(selectJsonPath(body, '$.value[*]')).toEqual(body.value);
    expect(selectJsonPath(body, '$.edges[*].node')).toEqual([{ id: 'n1' }, { id: 'n2' }]);
    expect(selectJsonPath(body, '$.data.items[*].tags[*]')).toEqual(['a', 'b', 'c']);
    expect(selectJsonPath(body, '$.one')).toEqual([{ id: 'solo' }]);
    expect(selectJsonPath(body, '$.missing.items')).toEqual([]);
    expect(selectJsonPath(body, "$['odd key']")).toEqual([{ x: 1 }]);
  });

  it('reads single values: cursors, totals, indexed elements, bracketed names', () => {
    expect(readJsonPath(body, '$.data.total')).toBe(2);
    expect(readJsonPath(body, "$['@odata.nextLink']")).toBe('https://graph.example/next');
    expect(readJsonPath(body, '$.value[1].id')).toBe('u2');
    expect(readJsonPath(body, '$.value[9].id')).toBeUndefined();
  });

  it('walks own properties only', () => {
    expect(readJsonPath({}, 'constructor')).toBeUndefined();
    expect(readJsonPath({ a: {} }, '$.a.__proto__')).toBeUndefined();
  });

  it('refuses what it does not support, naming the path', () => {
    for (const bad of ['$..id', '$.items[?(@.id>1)]', '$.items[0:2]', '$.a b', '$.items[']) {
      expect(() => parseJsonPath(bad), bad).toThrow(expect.objectContaining({ kind: 'config', message: expect.stringContaining(bad.trim()) }));
    }
  });

  it('dot paths into records, with literal dotted keys winning', () => {
    expect(valueAtDotPath({ address: { city: 'Oslo' } }, 'address.city')).toBe('Oslo');
    expect(valueAtDotPath({ 'address.city': 'Bergen', address: { city: 'Oslo' } }, 'address.city')).toBe('Bergen');
    expect(valueAtDotPath({ address: null }, 'address.city')).toBeUndefined();
  });
});
