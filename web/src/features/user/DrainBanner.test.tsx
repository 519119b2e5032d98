import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Allocation } from '../../api/types';
import { formatDateTime } from '../../lib/format';
import { viewNotification } from '../../app/notificationText';
import { describeReleaseReason, nodeDrain } from './allocations';
import { DrainBanner } from './DrainBanner';
import { allocation } from './testing';

const ID = 'aaaa0000-0000-4000-8000-000000000001';
const DEADLINE = '2026-12-08T10:00:00Z';
const a = (over: Record<string, unknown> = {}) => allocation(ID, over) as unknown as Allocation;

describe('DrainBanner', () => {
  it('tells the owner when the allocation is released, and why', () => {
    render(<DrainBanner a={a({ node_drain_deadline: DEADLINE, node_drain_reason: 'kernel upgrade' })} now={new Date('2026-12-08T07:00:00Z')} />);
    const banner = screen.getByTestId('drain-banner');
    expect(banner.getAttribute('role')).toBe('note');
    expect(banner.textContent).toContain(
      `This node goes into maintenance: your allocation will be released at ${formatDateTime(DEADLINE)} (kernel upgrade).`,
    );
    expect(banner.textContent).toContain('in 3 hr.');
    expect(banner.querySelector('time')?.getAttribute('dateTime')).toBe(DEADLINE);
  });

  it('reads without a reason, and is absent when the node does not drain or the allocation has ended', () => {
    render(<DrainBanner a={a({ node_drain_deadline: DEADLINE, node_drain_reason: '' })} />);
    expect(screen.getByTestId('drain-banner').textContent).toContain(`released at ${formatDateTime(DEADLINE)}.`);
    expect(nodeDrain(a())).toBeNull();
    expect(nodeDrain(a({ status: 'released', node_drain_deadline: DEADLINE }))).toBeNull();
    expect(nodeDrain(a({ status: 'provisioning', node_drain_deadline: DEADLINE }))).toEqual({ deadline: DEADLINE, reason: '' });
  });

  it('says a maintenance release and a drain notification in words', () => {
    expect(describeReleaseReason('maintenance: kernel upgrade')).toBe('Released for maintenance of its node: kernel upgrade');
    const v = viewNotification({ type: 'node.draining', id: 'e1', allocation_id: ID, node_id: 'n', reason: 'kernel upgrade', deadline: DEADLINE });
    expect(v.title).toBe('The node of Allocation aaaa0000 goes into maintenance');
    expect(v.detail).toContain(`released at ${formatDateTime(DEADLINE)} (kernel upgrade)`);
    expect(v.tone).toBe('warning');
    expect(v.href).toBe(`/allocations/${ID}`);
    const released = viewNotification({ type: 'allocation.status', id: 'e2', allocation_id: ID, status: 'released', reason: 'maintenance: kernel upgrade' });
    expect(released.title).toBe('Allocation aaaa0000 was released for maintenance of its node');
  });
});
