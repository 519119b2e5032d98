import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { getKey, invalidate } from '../api/query';
import { stalePaths } from './cache';

describe('the query cache', () => {
  it('keys a GET by path, path parameters and query', () => {
    expect(getKey('/api/v1/allocations/{allocation_id}', { path: { allocation_id: 'a' } })).toEqual([
      '/api/v1/allocations/{allocation_id}',
      { allocation_id: 'a' },
      null,
    ]);
  });

  it('invalidates by path prefix, never a sibling that only shares letters', async () => {
    const qc = new QueryClient();
    const keys = [
      getKey('/api/v1/allocations', { query: { status: 'active' } }),
      getKey('/api/v1/allocations/{allocation_id}', { path: { allocation_id: 'a' } }),
      getKey('/api/v1/allocationsx', {}),
      getKey('/api/v1/skus', {}),
    ];
    for (const k of keys) qc.setQueryData(k, { ok: true });
    await invalidate(qc, '/api/v1/allocations');
    expect(keys.map((k) => qc.getQueryState(k)?.isInvalidated)).toEqual([true, true, false, false]);
  });

  it('makes stale what a notification says changed', () => {
    expect(stalePaths({ type: 'allocation.status' })).toEqual(
      expect.arrayContaining(['/api/v1/allocations', '/api/v1/billing', '/api/v1/skus']),
    );
    expect(stalePaths({ type: 'billing.balance_credited' })).toContain('/api/v1/billing');
    expect(stalePaths({ type: 'something.new' })).toEqual(['/api/v1/notifications']);
  });
});
