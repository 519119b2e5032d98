import { describe, expect, it } from 'vitest';
import type { Allocation, Node, User } from '../../api/types';
import { canForceRelease, filterAllocations, filterNodes, filterUsers, gpuSummary, matchesSearch, nodeInUse, showingCount } from './filters';

const user = (username: string, role: 'user' | 'admin', id = username): User => ({
  id,
  username,
  email: `${username}@example.com`,
  role,
  created_at: '2026-01-01T00:00:00Z',
});

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

  it('filters users by role and search', () => {
    const users = [user('alice', 'admin'), user('bob', 'user'), user('demo', 'user')];
    expect(filterUsers(users, { role: 'user' }).map((u) => u.username)).toEqual(['bob', 'demo']);
    expect(filterUsers(users, { q: 'example.com', role: 'admin' }).map((u) => u.username)).toEqual(['alice']);
    expect(filterUsers(users, { q: 'dem' }).map((u) => u.username)).toEqual(['demo']);
  });

  it('filters nodes by hostname, region or GPU model', () => {
    const nodes = [node('a100-01', [gpu(false)]), node('h200-01', [gpu(true)])];
    expect(filterNodes(nodes, { q: 'h200' }).map((n) => n.hostname)).toEqual(['h200-01']);
    expect(filterNodes(nodes, { q: 'nvidia' })).toHaveLength(2);
  });

  it('filters allocations by node and by owner name', () => {
    const base = { status: 'active', sku_id: 'h100x1', name: 'train' } as Allocation;
    const allocs = [
      { ...base, id: 'a1', user_id: 'u1', node_id: 'n1' },
      { ...base, id: 'a2', user_id: 'u2', node_id: 'n2', name: 'infer' },
    ] as Allocation[];
    expect(filterAllocations(allocs, { node_id: 'n2' }).map((a) => a.id)).toEqual(['a2']);
    expect(filterAllocations(allocs, { q: 'demo' }, new Map([['u1', 'demo']])).map((a) => a.id)).toEqual(['a1']);
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

  it('says how many rows are shown', () => {
    expect(showingCount(2, 2, 'user', false)).toBe('Showing 2 users');
    expect(showingCount(1, 50, 'node', true)).toBe('Showing 1 of 50 nodes on this page');
    expect(showingCount(1, 1, 'node', false)).toBe('Showing 1 node');
  });
});
