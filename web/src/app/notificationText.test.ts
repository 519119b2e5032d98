import { describe, expect, it } from 'vitest';
import { viewNotification } from './notificationText';

const id = '3f2b9c1e-0000-4000-8000-000000000001';

describe('viewNotification', () => {
  it('says what happened to an allocation and links to it', () => {
    const v = viewNotification({ type: 'allocation.status', id: 'e1', allocation_id: id, status: 'active' });
    expect(v.title).toBe('Allocation 3f2b9c1e is active');
    expect(v.tone).toBe('success');
    expect(v.href).toBe(`/allocations/${id}`);
    expect(viewNotification({ type: 'allocation.status', id: 'e2', allocation_id: id, status: 'failed' }).tone).toBe('danger');
    expect(viewNotification({ type: 'allocation.status', id: 'e3', allocation_id: id, status: 'released' }).title).toMatch(
      /released/,
    );
  });
  it('covers node and billing notifications, with money in words', () => {
    expect(viewNotification({ type: 'node.offline', id: 'e4', allocation_id: id, node_id: 'n' }).tone).toBe('warning');
    const low = viewNotification({ type: 'billing.low_balance', id: 'e5', balance_minor: 123, currency: 'USD' });
    expect(low.detail).toContain('USD 1.23');
    expect(low.href).toBe('/billing');
    const credited = viewNotification({ type: 'billing.balance_credited', id: 'e6', balance_minor: 5000, currency: 'USD' });
    expect(credited.detail).toBe('Your balance is now USD 50.00.');
  });
  it('says a lost node and a failed GPU in words', () => {
    const lost = viewNotification({ type: 'allocation.status', id: 'e8', allocation_id: id, status: 'failed', reason: 'node_lost' });
    expect(lost.title).toBe('Allocation 3f2b9c1e was lost with its node');
    expect(lost.detail).toContain('charged only up to');
    const gpu = viewNotification({ type: 'gpu.unhealthy', id: 'e9', allocation_id: id, node_id: 'n', reason: 'Xid 79' });
    expect(gpu.tone).toBe('danger');
    expect(gpu.detail).toContain('Xid 79');
  });
  it('names the allocation by its name and says why it was released', () => {
    const v = viewNotification(
      { type: 'allocation.status', id: 'e10', allocation_id: id, status: 'released', reason: 'balance_depleted' },
      'llama-finetune',
    );
    expect(v.title).toBe('llama-finetune was released because your balance ran out');
    expect(v.linkLabel).toBe('Open llama-finetune');
    const admin = viewNotification({ type: 'allocation.status', id: 'e11', allocation_id: id, status: 'released', reason: 'admin: abuse' });
    expect(admin.detail).toContain('Reason: abuse.');
  });
  it("uses the server's title and body where the message carries them", () => {
    const v = viewNotification({
      type: 'allocation.status',
      id: 'e12',
      allocation_id: id,
      status: 'released',
      title: 'llama was released because your balance ran out',
      body: 'Add credit to start again.',
    });
    expect(v.title).toBe('llama was released because your balance ran out');
    expect(v.detail).toBe('Add credit to start again.');
    expect(v.href).toBe(`/allocations/${id}`);
  });
  it('shows an unknown type as it is', () => {
    expect(viewNotification({ type: 'something.new', id: 'e7' }).title).toBe('something.new');
  });
});
