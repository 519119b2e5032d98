import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, allocation, json, renderPage } from '../../features/user/testing';
import { AllocationDetailPage } from './AllocationDetailPage';

// xterm needs a real layout engine; the terminal has its own tests (terminalSession.test.ts).
vi.mock('../../features/user/TerminalPanel', () => ({
  TerminalPanel: ({ active }: { active: boolean }) => <div data-testid="terminal-panel">terminal {String(active)}</div>,
}));

const ID = 'aaaa0000-0000-4000-8000-000000000001';

describe('AllocationDetailPage', () => {
  it('shows connection info, GPUs and cost, opens the terminal, and releases after confirming', async () => {
    let current = allocation(ID, {
      connection: { host: 'sim-h100-01', port: 22, username: 'gaaaa00000000', ssh_command: 'ssh gaaaa00000000@sim-h100-01' },
      node_status: 'online',
    });
    const { calls } = renderPage(<AllocationDetailPage />, {
      path: '/allocations/:id',
      url: `/allocations/${ID}`,
      handlers: {
        [`GET /api/v1/allocations/${ID}`]: () => json(200, current),
        'GET /api/v1/billing/usage': () =>
          json(200, {
            items: [{ allocation_id: ID, sku_id: 'h100-80gb-x1', started_at: '2025-01-01T00:00:05Z', ended_at: null, seconds: 60, amount_minor: 5, currency: 'USD' }],
            next_cursor: '',
          }),
        [`POST /api/v1/allocations/${ID}/release`]: () => {
          current = allocation(ID, { status: 'releasing', release_reason: 'user' });
          return json(202, current);
        },
      },
    });
    expect(await screen.findByText('ssh gaaaa00000000@sim-h100-01')).toBeTruthy();
    expect(screen.getByText(`gpuaas ssh ${ID}`)).toBeTruthy();
    expect(screen.getByTestId('gpu-uuids').textContent).toContain('GPU-1111');
    await waitFor(() => expect(screen.getByTestId('cost-so-far').textContent).toContain('USD 0.05'));

    fireEvent.click(screen.getByRole('button', { name: 'Open terminal' }));
    expect((await screen.findByTestId('terminal-panel')).textContent).toBe('terminal true');

    fireEvent.click(screen.getByRole('button', { name: 'Release' }));
    const dialog = await screen.findByRole('dialog', { name: 'Release this allocation?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Release' }));
    await waitFor(() => expect(screen.getByTestId('status-banner').dataset.status).toBe('releasing'));
    expect(calls.filter((c) => c.method === 'POST' && c.url.endsWith('/release'))).toHaveLength(1);
    expect(screen.getByTestId('terminal-panel').textContent).toBe('terminal false');
    expect(screen.queryByRole('button', { name: 'Release' })).toBeNull();
  });

  it('reloads when a notification about it arrives', async () => {
    let current = allocation(ID, { status: 'provisioning', active_at: null });
    renderPage(<AllocationDetailPage />, {
      path: '/allocations/:id',
      url: `/allocations/${ID}`,
      handlers: {
        [`GET /api/v1/allocations/${ID}`]: () => json(200, current),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
      },
    });
    await waitFor(() => expect(screen.getByTestId('status-banner').dataset.status).toBe('provisioning'));
    const ws = await waitFor(() => {
      const s = FakeWebSocket.last('/ws/notifications');
      if (!s) throw new Error('no notifications socket yet');
      return s;
    });
    current = allocation(ID, { status: 'active' });
    act(() => {
      ws.open();
      ws.push({ type: 'allocation.status', id: 'ev-1', allocation_id: ID, status: 'active' });
    });
    await waitFor(() => expect(screen.getByTestId('status-banner').dataset.status).toBe('active'));
  });

  it('keeps the header on a 404 and shows the correlation id', async () => {
    renderPage(<AllocationDetailPage />, {
      path: '/allocations/:id',
      url: `/allocations/${ID}`,
      handlers: {
        [`GET /api/v1/allocations/${ID}`]: () => json(404, { code: 'not_found', message: 'no such allocation', correlation_id: 'c-404' }),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
      },
    });
    const err = await screen.findByTestId('error-box');
    expect(err.textContent).toContain('c-404');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Allocation aaaa0000');
  });
});

describe('AllocationDetailPage while its node drains', () => {
  it('shows the maintenance banner with the release time and reason', async () => {
    renderPage(<AllocationDetailPage />, {
      path: '/allocations/:id',
      url: `/allocations/${ID}`,
      handlers: {
        [`GET /api/v1/allocations/${ID}`]: () =>
          json(200, allocation(ID, { node_status: 'online', node_drain_deadline: '2026-12-08T10:00:00Z', node_drain_reason: 'kernel upgrade' })),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
      },
    });
    const banner = await screen.findByTestId('drain-banner');
    expect(banner.textContent).toMatch(/^!This node goes into maintenance: your allocation will be released at .+ \(kernel upgrade\)\./);
    expect(screen.getByText('node maintenance')).toBeTruthy();
  });
});
