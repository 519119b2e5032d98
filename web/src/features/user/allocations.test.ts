import { describe, expect, it } from 'vitest';
import { allocationTitle, canRelease, describeReleaseReason, matchesSearch, showingText } from './allocations';

const a = {
  id: '3f2b9c1e-0000-4000-8000-000000000001',
  name: 'llama-finetune',
  sku_id: 'h100-80gb-x1',
  node_id: 'aa11bb22-0000-4000-8000-000000000009',
};

describe('matchesSearch', () => {
  it('matches id, name, SKU and node id, case-insensitively', () => {
    expect(matchesSearch(a, '')).toBe(true);
    expect(matchesSearch(a, '3F2B')).toBe(true);
    expect(matchesSearch(a, 'llama')).toBe(true);
    expect(matchesSearch(a, 'h100')).toBe(true);
    expect(matchesSearch(a, 'aa11bb22')).toBe(true);
    expect(matchesSearch(a, 'a100')).toBe(false);
  });
  it('needs every word to match', () => {
    expect(matchesSearch(a, 'llama h100')).toBe(true);
    expect(matchesSearch(a, 'llama a100')).toBe(false);
  });
  it('copes with no node', () => {
    expect(matchesSearch({ ...a, node_id: null }, 'aa11')).toBe(false);
  });
});

describe('texts', () => {
  it('counts', () => {
    expect(showingText(2, 5)).toBe('Showing 2 of 5 allocations');
    expect(showingText(1, 1)).toBe('Showing 1 of 1 allocation');
  });
  it('explains release reasons', () => {
    expect(describeReleaseReason('user')).toBe('Released by you');
    expect(describeReleaseReason('admin: maintenance')).toBe('Released by an administrator: maintenance');
    expect(describeReleaseReason('balance_depleted')).toMatch(/balance ran out/);
    expect(describeReleaseReason('')).toBe('');
  });
  it('names allocations', () => {
    expect(allocationTitle(a)).toBe('llama-finetune');
    expect(allocationTitle({ ...a, name: '' })).toBe('Allocation 3f2b9c1e');
  });
  it('releases only what holds GPUs', () => {
    expect(canRelease('active')).toBe(true);
    expect(canRelease('provisioning')).toBe(true);
    expect(canRelease('releasing')).toBe(false);
    expect(canRelease('released')).toBe(false);
  });
});
