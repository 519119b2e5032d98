import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Allocation, Node } from '../../api/types';
import {
  canForceRelease,
  gpuSummary,
  listCount,
  matchesSearch,
  nodeInUse,
  searchAllocations,
  searchParam,
  showingCount,
  useSearchBox,
} from './filters';

const gpu = (allocated: boolean, health: 'healthy' | 'unhealthy' = 'healthy') => ({
  index: 0,
  uuid: 'GPU-x',
  model: 'NVIDIA H100',
  memory_mib: 81920,
  health,
  allocated,
});

const node = (hostname: string, gpus: ReturnType<typeof gpu>[]): Node => ({
  id: `${hostname}-id`,
  hostname,
  region: 'local-1',
  labels: {},
  status: 'online',
  admin_state: 'active',
  gpus,
  created_at: '2026-01-01T00:00:00Z',
});

describe('filters', () => {
  it('matches every word in any field, ignoring case', () => {
    expect(matchesSearch('', ['x'])).toBe(true);
    expect(matchesSearch('DEMO local', ['demo', 'local-1'])).toBe(true);
    expect(matchesSearch('demo h100', ['demo', 'local-1'])).toBe(false);
  });

  it('searches the allocations of a page by name, SKU or owner name', () => {
    const base = { status: 'active', sku_id: 'h100x1', name: 'train' } as Allocation;
    const allocs = [
      { ...base, id: 'a1', user_id: 'u1', node_id: 'n1' },
      { ...base, id: 'a2', user_id: 'u2', node_id: 'n2', name: 'infer' },
    ] as Allocation[];
    expect(searchAllocations(allocs, 'infer').map((a) => a.id)).toEqual(['a2']);
    expect(searchAllocations(allocs, 'demo', new Map([['u1', 'demo']])).map((a) => a.id)).toEqual(['a1']);
    expect(searchAllocations(allocs, '')).toHaveLength(2);
  });

  it('sends a search trimmed, and none when blank', () => {
    expect(searchParam('  ada ')).toBe('ada');
    expect(searchParam('   ')).toBeUndefined();
  });

  it('summarises GPUs and knows a node in use', () => {
    const n = node('x', [gpu(true), gpu(false), gpu(false, 'unhealthy')]);
    expect(gpuSummary(n)).toEqual({ total: 3, allocated: 1, healthy: 2, unhealthy: 1, model: 'NVIDIA H100' });
    expect(nodeInUse(n)).toBe(true);
    expect(nodeInUse(node('y', [gpu(false)]))).toBe(false);
  });

  it('allows force-release only before the allocation is on its way out', () => {
    expect(canForceRelease({ status: 'active' })).toBe(true);
    expect(canForceRelease({ status: 'release_failed' })).toBe(true);
    expect(canForceRelease({ status: 'releasing' })).toBe(false);
    expect(canForceRelease({ status: 'released' })).toBe(false);
  });

  it('says how many rows the API sent', () => {
    expect(listCount(2, 'user', false, false)).toBe('Showing 2 users');
    expect(listCount(1, 'user', true, false)).toBe('Showing 1 matching user');
    expect(listCount(50, 'node', true, true)).toBe('Showing 50 matching nodes on this page');
  });

  it('says how many rows are shown', () => {
    expect(showingCount(2, 2, 'user', false)).toBe('Showing 2 users');
    expect(showingCount(1, 50, 'node', true)).toBe('Showing 1 of 50 nodes on this page');
    expect(showingCount(1, 1, 'node', false)).toBe('Showing 1 node');
  });
});

describe('useSearchBox', () => {
  afterEach(() => vi.useRealTimers());

  it('commits the text once typing pauses, and follows outside changes', () => {
    vi.useFakeTimers();
    const commit = vi.fn();
    const { result, rerender } = renderHook(({ value }) => useSearchBox(value, commit, 300), {
      initialProps: { value: '' },
    });
    act(() => result.current[1]('a'));
    act(() => vi.advanceTimersByTime(100));
    act(() => result.current[1]('ad'));
    act(() => vi.advanceTimersByTime(299));
    expect(commit).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(1));
    expect(commit).toHaveBeenCalledTimes(1);
    expect(commit).toHaveBeenLastCalledWith('ad');
    expect(result.current[0]).toBe('ad');
    // The URL catches up: nothing more is committed.
    rerender({ value: 'ad' });
    act(() => vi.advanceTimersByTime(1000));
    expect(commit).toHaveBeenCalledTimes(1);
    // Cleared from elsewhere (Clear filters, back button): the box follows.
    rerender({ value: '' });
    expect(result.current[0]).toBe('');
    act(() => vi.advanceTimersByTime(1000));
    expect(commit).toHaveBeenCalledTimes(1);
  });
});
