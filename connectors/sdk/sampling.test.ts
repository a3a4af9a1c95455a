import { describe, expect, it } from 'vitest';
import { FieldSampler, mergeFieldTypes } from './sampling.ts';

describe('FieldSampler', () => {
  it('counts presence per document, walks nested objects and marks missing or null fields nullable', () => {
    const sampler = new FieldSampler({ maxDepth: 2 });
    sampler.add({ id: 1, name: 'a', address: { city: 'Oslo', geo: { lat: 1 } } });
    sampler.add({ id: 2, name: null, tags: ['x'] });
    sampler.add({ id: 3.5, name: 'c', address: { city: 'Rome' } });
    sampler.add({ id: 4 });
    const byPath = Object.fromEntries(sampler.fields().map((f) => [f.path, f]));
    expect(sampler.sampled).toBe(4);
    expect(byPath.id).toMatchObject({ type: 'number', sourceType: 'integer|number', frequency: 1, nullable: false });
    expect(byPath.name).toMatchObject({ type: 'string', frequency: 0.75, nullable: true });
    expect(byPath.address).toMatchObject({ type: 'object', frequency: 0.5, nullable: true, depth: 1 });
    expect(byPath['address.city']).toMatchObject({ type: 'string', frequency: 0.5, depth: 2 });
    expect(byPath['address.geo']).toMatchObject({ type: 'object' });
    expect(byPath['address.geo.lat']).toBeUndefined();
    expect(byPath.tags).toMatchObject({ type: 'array', frequency: 0.25 });
  });

  it('keeps memory bounded by distinct paths, not by documents', () => {
    const sampler = new FieldSampler({ maxFields: 3 });
    for (let i = 0; i < 100; i++) sampler.add({ [`key${i}`]: i });
    expect(sampler.fields()).toHaveLength(3);
    expect(sampler.truncated).toBe(true);
  });

  it('widens mixed types: integer with number is number, dates with datetimes are datetimes, others json', () => {
    expect(mergeFieldTypes(new Set(['integer', 'number']))).toBe('number');
    expect(mergeFieldTypes(new Set(['date', 'datetime']))).toBe('datetime');
    expect(mergeFieldTypes(new Set(['string', 'integer']))).toBe('json');
    expect(mergeFieldTypes(new Set())).toBe('json');
  });
});
