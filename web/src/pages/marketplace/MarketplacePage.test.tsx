import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FakeWebSocket, json, renderPage } from '../../features/user/testing';
import { MarketplacePage } from './MarketplacePage';

const sku = (id: string, name: string, price: number, available: number) => ({
  id,
  name,
  gpu_model: 'NVIDIA H100 80GB HBM3',
  gpu_count: 1,
  gpu_memory_mib: 81920,
  vcpu: 26,
  memory_mib: 230400,
  disk_gib: 512,
  price_per_hour_minor: price,
  currency: 'USD',
  region: 'local-1',
  active: true,
  available,
});

describe('MarketplacePage', () => {
  it('shows each SKU with price, free capacity and sold-out state', async () => {
    renderPage(<MarketplacePage />, {
      path: '/marketplace',
      handlers: {
        'GET /api/v1/skus': () =>
          json(200, { items: [sku('h100', 'H100 ×1', 249, 3), sku('h200', 'H200 ×1', 349, 0)], next_cursor: '' }),
      },
    });
    const h100 = await screen.findByRole('listitem', { name: 'H100 ×1' });
    expect(within(h100).getByText('USD 2.49')).toBeTruthy();
    expect(within(h100).getByText('3 available')).toBeTruthy();
    const h200 = screen.getByRole('listitem', { name: 'H200 ×1' });
    expect(within(h200).getByRole('button', { name: 'H200 ×1 is sold out' })).toHaveProperty('disabled', true);
  });

  it('refetches what a notification makes stale (the shared cache)', async () => {
    let available = 3;
    const { calls } = renderPage(<MarketplacePage />, {
      path: '/marketplace',
      handlers: {
        'GET /api/v1/skus': () => json(200, { items: [sku('h100', 'H100 ×1', 249, available)], next_cursor: '' }),
      },
    });
    const card = await screen.findByRole('listitem', { name: 'H100 ×1' });
    expect(within(card).getByText('3 available')).toBeTruthy();
    const ws = await waitFor(() => {
      const s = FakeWebSocket.last('/ws/notifications');
      if (!s) throw new Error('no socket yet');
      return s;
    });
    available = 2;
    act(() => {
      ws.open();
      ws.push({ type: 'allocation.status', id: 'e1', allocation_id: 'a', status: 'active' });
    });
    expect(await within(card).findByText('2 available')).toBeTruthy();
    expect(calls.filter((c) => c.url.startsWith('/api/v1/skus')).length).toBeGreaterThanOrEqual(2);
  });

  it('counts what already runs in the runway, and disables Create with the reason when credit is short', async () => {
    renderPage(<MarketplacePage />, {
      path: '/marketplace',
      handlers: {
        'GET /api/v1/skus': () =>
          json(200, { items: [sku('h100', 'H100 ×1', 249, 3), sku('cheap', 'T4 ×1', 1, 3)], next_cursor: '' }),
        // USD 0.25 left while USD 1.50/h already runs: the H100 needs (249 + 150) × 600 / 3600 = 67 → USD 0.67.
        'GET /api/v1/billing/balance': () =>
          json(200, {
            user_id: 'u',
            balance_minor: 25,
            currency: 'USD',
            unbilled_minor: 0,
            burn_rate_per_hour_minor: 150,
            runway_seconds: 600,
          }),
      },
    });
    const h100 = await screen.findByRole('listitem', { name: 'H100 ×1' });
    const create = await within(h100).findByRole('button', { name: 'Create H100 ×1' });
    await waitFor(() => expect(create).toHaveProperty('disabled', true));
    expect(within(h100).getByTestId('sku-short').textContent).toContain('needs USD 0.67');
    expect(within(h100).getByTestId('sku-short').textContent).toContain('you have USD 0.25');
    // T4 at USD 0.01/h: (1 + 150) × 600 / 3600 = 25.17 → 26 needed, 25 held: still short.
    const t4 = screen.getByRole('listitem', { name: 'T4 ×1' });
    expect(within(t4).getByRole('button', { name: 'Create T4 ×1' })).toHaveProperty('disabled', true);
  });

  it('estimates cost and runway, creates with an Idempotency-Key and opens the allocation', async () => {
    const { calls } = renderPage(<MarketplacePage />, {
      path: '/marketplace',
      extraRoutes: [{ path: '/allocations/:id', element: <p>allocation page</p> }],
      handlers: {
        'GET /api/v1/skus': () => json(200, { items: [sku('h100', 'H100 ×1', 249, 3)], next_cursor: '' }),
        'POST /api/v1/allocations': () => json(202, { id: 'a-new', status: 'requested' }),
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Create H100 ×1' }));
    const dialog = await screen.findByRole('dialog', { name: 'Create H100 ×1' });
    const estimate = within(dialog).getByTestId('estimate');
    expect(estimate.textContent).toContain('USD 2.49');
    expect(estimate.textContent).toContain('USD 59.76'); // a day
    // USD 100.00 at USD 2.49/h: 144578 s → "1d 16h"
    await waitFor(() => expect(within(dialog).getByTestId('estimate-runway').textContent).toBe('1d 16h'));
    fireEvent.change(within(dialog).getByLabelText('Name (optional)'), { target: { value: 'train-1' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for USD 2\.49\/h/ }));
    expect(await screen.findByText('allocation page')).toBeTruthy();
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/allocations')!;
    expect(post.body).toEqual({ sku_id: 'h100', name: 'train-1' });
    expect(post.headers['Idempotency-Key']).toMatch(/^web-[0-9a-f]{32}$/);
  });

  it('installs every SSH key by default, or only the ones left ticked (ssh_key_ids)', async () => {
    const key = (id: string, name: string) => ({ id, name, fingerprint: `SHA256:${id}`, key_type: 'ssh-ed25519', bits: 256, public_key: 'x', created_at: '2025-01-01T00:00:00Z' });
    const { calls } = renderPage(<MarketplacePage />, {
      path: '/marketplace',
      extraRoutes: [{ path: '/allocations/:id', element: <p>allocation page</p> }],
      handlers: {
        'GET /api/v1/skus': () => json(200, { items: [sku('h100', 'H100 ×1', 249, 3)], next_cursor: '' }),
        'GET /api/v1/ssh-keys': () => json(200, { items: [key('k1', 'laptop'), key('k2', 'desktop')], next_cursor: '' }),
        'POST /api/v1/allocations': () => json(202, { id: 'a-new', status: 'requested' }),
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Create H100 ×1' }));
    const dialog = await screen.findByRole('dialog', { name: 'Create H100 ×1' });
    const choice = await within(dialog).findByTestId('key-choice');
    expect(choice.textContent).toContain('All your keys, and any you add later.');
    fireEvent.click(within(choice).getByRole('checkbox', { name: /laptop/ }));
    expect(choice.textContent).toContain('Only these 1');
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    expect(await screen.findByText('allocation page')).toBeTruthy();
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/allocations')!;
    expect(post.body).toEqual({ sku_id: 'h100', ssh_key_ids: ['k2'] });
  });

  it('shows a refused create with its message and correlation id', async () => {
    renderPage(<MarketplacePage />, {
      path: '/marketplace',
      handlers: {
        'GET /api/v1/skus': () => json(200, { items: [sku('h100', 'H100 ×1', 249, 3)], next_cursor: '' }),
        'POST /api/v1/allocations': () =>
          json(402, { code: 'insufficient_funds', message: 'balance too low', correlation_id: 'corr-402' }),
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Create H100 ×1' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    const err = await within(dialog).findByTestId('error-box');
    expect(err.textContent).toContain('Your balance is too low');
    expect(err.textContent).toContain('corr-402');
  });

  it('keeps the page header when loading fails', async () => {
    renderPage(<MarketplacePage />, {
      path: '/marketplace',
      handlers: { 'GET /api/v1/skus': () => json(503, { code: 'unavailable', message: 'db down', correlation_id: 'c503' }) },
    });
    expect(await screen.findByTestId('error-box')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1, name: 'Marketplace' })).toBeTruthy();
  });
});
