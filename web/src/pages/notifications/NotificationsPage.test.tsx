import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useNotifications } from '../../app/notifications';
import { FakeWebSocket, allocation, json, renderPage } from '../../features/user/testing';
import { NotificationsPage } from './NotificationsPage';

function Bell() {
  const { unread } = useNotifications();
  return <span data-testid="unread">{unread}</span>;
}

describe('NotificationsPage', () => {
  it('lists notifications in words with links, and marks them read so the bell agrees', async () => {
    renderPage(
      <>
        <Bell />
        <NotificationsPage />
      </>,
      {
        path: '/notifications',
        handlers: {
          'GET /api/v1/allocations?': () =>
            json(200, { items: [allocation('3f2b9c1e-0000-4000-8000-000000000001', { name: 'llama-finetune' })], next_cursor: '' }),
        },
      },
    );
    expect(await screen.findByText('No notifications yet')).toBeTruthy();
    const ws = await waitFor(() => {
      const s = FakeWebSocket.last('/ws/notifications');
      if (!s) throw new Error('no socket yet');
      return s;
    });
    act(() => {
      ws.open();
      ws.push({ type: 'allocation.status', id: 'e1', allocation_id: '3f2b9c1e-0000-4000-8000-000000000001', status: 'active' });
      ws.push({ type: 'billing.low_balance', id: 'e2', balance_minor: 120, currency: 'USD' });
    });
    // Named by the allocation's name, not its id.
    expect(await screen.findByText('llama-finetune is active')).toBeTruthy();
    expect(screen.getByText('Your balance is running low')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Open llama-finetune' }).getAttribute('href')).toBe(
      '/allocations/3f2b9c1e-0000-4000-8000-000000000001',
    );
    expect(screen.getAllByText('New')).toHaveLength(2);
    await waitFor(() => expect(screen.getByTestId('unread').textContent).toBe('0'));
    expect(screen.getByText('Live')).toBeTruthy();
  });

  it('dismisses one, clears all, and keeps what is left across a reload', async () => {
    const first = renderPage(<NotificationsPage />, { path: '/notifications', handlers: {} });
    const ws = await waitFor(() => {
      const s = FakeWebSocket.last('/ws/notifications');
      if (!s) throw new Error('no socket yet');
      return s;
    });
    act(() => {
      ws.open();
      ws.push({ type: 'allocation.status', id: 'k1', allocation_id: '3f2b9c1e-0000-4000-8000-000000000001', status: 'active' });
      ws.push({ type: 'billing.balance_credited', id: 'k2', balance_minor: 5000, currency: 'USD' });
    });
    expect(await screen.findByText('Allocation 3f2b9c1e is active')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /^Dismiss: .*3f2b9c1e/ }));
    await waitFor(() => expect(screen.queryByText('Allocation 3f2b9c1e is active')).toBeNull());
    first.unmount();

    // A reload: what was kept comes back from this browser's storage.
    renderPage(<NotificationsPage />, { path: '/notifications', handlers: {} });
    expect(await screen.findByText('Credit was added to your balance')).toBeTruthy();
    expect(screen.queryByText('Allocation 3f2b9c1e is active')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Clear all' }));
    expect(await screen.findByText('No notifications yet')).toBeTruthy();
  });
});

describe('NotificationsPage with the server history', () => {
  it('lists the stored history and marks it all read', async () => {
    let unread = 2;
    const { calls } = renderPage(
      <>
        <NotificationsPage />
      </>,
      {
        path: '/notifications',
        handlers: {
          'GET /api/v1/notifications': () =>
            json(200, {
              items: [
                {
                  id: 'n2',
                  kind: 'allocation.released',
                  title: 'llama-finetune was released because your balance ran out',
                  body: 'Add credit to start again.',
                  allocation_id: '3f2b9c1e-0000-4000-8000-000000000001',
                  created_at: '2025-01-01T00:02:00Z',
                  read_at: unread ? null : '2025-01-01T00:03:00Z',
                },
              ],
              next_cursor: '',
              unread_count: unread,
            }),
          'POST /api/v1/notifications/read': () => {
            unread = 0;
            return json(204, undefined);
          },
        },
      },
    );
    expect(await screen.findByText('llama-finetune was released because your balance ran out')).toBeTruthy();
    expect(screen.getByTestId('server-notifications')).toBeTruthy();
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url === '/api/v1/notifications/read')).toBe(true));
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/notifications/read')!;
    expect(post.body).toEqual({ all: true });
    // Still marked new while the page is open.
    expect(screen.getByText('New')).toBeTruthy();
  });
});
