import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { allocation, json, renderPage, usdBalance } from '../../features/user/testing';
import { BillingPage } from './BillingPage';

const row = (n: number, over: Record<string, unknown> = {}) => ({
  allocation_id: `0000000${n}-0000-4000-8000-000000000000`,
  sku_id: 'h100-80gb-x1',
  started_at: '2025-01-01T00:00:00Z',
  ended_at: '2025-01-01T01:00:00Z',
  seconds: 3600,
  amount_minor: 249,
  currency: 'USD',
  ...over,
});

describe('BillingPage', () => {
  it('shows the balance, usage rows and pages forward and back', async () => {
    const { calls } = renderPage(<BillingPage />, {
      path: '/billing',
      handlers: {
        'GET /api/v1/billing/balance': () =>
          json(200, { ...usdBalance, balance_minor: 9751, unbilled_minor: 51, burn_rate_per_hour_minor: 249, runway_seconds: 140000 }),
        'GET /api/v1/billing/usage': (c) =>
          c.url.includes('cursor=p2')
            ? json(200, { items: [row(2)], next_cursor: '' })
            : json(200, { items: [row(1, { ended_at: null, seconds: 61, amount_minor: 5 })], next_cursor: 'p2' }),
        // Usage rows name their allocation, from the list of the user's allocations.
        'GET /api/v1/allocations?': () =>
          json(200, { items: [allocation(row(1).allocation_id, { name: 'llama-finetune' })], next_cursor: '' }),
      },
    });
    const balance = await screen.findByTestId('balance');
    await waitFor(() => expect(balance.textContent).toContain('USD 97.00'));
    expect(balance.textContent).toContain('USD 2.49');
    const table = await screen.findByRole('table', { name: 'Usage windows' });
    expect(await within(table).findByText('llama-finetune')).toBeTruthy();
    expect(within(table).getByText('running')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await waitFor(() => expect(within(screen.getByRole('table', { name: 'Usage windows' })).getByText('Allocation 00000002')).toBeTruthy());
    expect(calls.some((c) => c.url.includes('cursor=p2'))).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: '← Previous' }));
    await waitFor(() => expect(screen.getByText('llama-finetune')).toBeTruthy());
  });

  it('lists storage charges with their currency, region, day and average size', async () => {
    const { calls } = renderPage(<BillingPage />, {
      path: '/billing',
      handlers: {
        'GET /api/v1/billing/balance': () => json(200, usdBalance),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/billing/storage-charges': (c) =>
          c.url.includes('cursor=s2')
            ? json(200, { items: [], next_cursor: '' })
            : json(200, {
                items: [
                  {
                    namespace: 'u-00000001-0000-4000-8000-000000000000',
                    region: 'eu-west',
                    day: '2026-03-02',
                    used_bytes: 12.5 * 2 ** 30,
                    price_per_gib_month_minor: 29,
                    amount_minor: 12,
                    currency: 'USD',
                  },
                ],
                next_cursor: 's2',
              }),
      },
    });
    const table = await screen.findByRole('table', { name: 'Storage charges' });
    const cells = within(table).getAllByRole('row')[1]!.querySelectorAll('td');
    const text = Array.from(cells, (td) => td.textContent);
    expect(text).toEqual(['2026-03-02', 'eu-west', '12.50 GiB', 'USD 0.29', 'USD 0.12']);
    expect(calls.some((c) => c.url.startsWith('/api/v1/billing/storage-charges?') && c.url.includes('page_size=20'))).toBe(true);
  });

  it('exports the CSV with the session token and reports a failure with its correlation id', async () => {
    const { calls } = renderPage(<BillingPage />, {
      path: '/billing',
      handlers: {
        'GET /api/v1/billing/usage/csv': () => json(503, { code: 'unavailable', message: 'db down', correlation_id: 'csv-503' }),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
      },
    });
    expect(await screen.findByText('No usage yet')).toBeTruthy();
    fireEvent.click(screen.getByTestId('export-csv'));
    const err = await screen.findByText('The export failed');
    expect(err.closest('[data-testid="error-box"]')!.textContent).toContain('csv-503');
    const call = calls.find((c) => c.url.startsWith('/api/v1/billing/usage/csv'))!;
    expect(call.headers.Authorization).toBe('Bearer tok');
  });

  it('draws daily spend by SKU and the limits with their use, money with its currency', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const since = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    renderPage(<BillingPage />, {
      path: '/billing',
      handlers: {
        'GET /api/v1/billing/balance': () => json(200, usdBalance),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/billing/storage-charges': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/billing/daily-spend': () =>
          json(200, {
            since,
            items: [
              { day: today, sku_id: 'h100-x1', currency: 'USD', amount_minor: 1200 },
              { day: today, sku_id: 'storage', currency: 'USD', amount_minor: 34 },
            ],
          }),
        'GET /api/v1/billing/limits': () =>
          json(200, {
            max_concurrent_gpus: 4,
            max_monthly_spend_minor: 500000,
            max_burn_per_hour_minor: null,
            overrides: { max_concurrent_gpus: 4, max_monthly_spend_minor: null, max_burn_per_hour_minor: null },
            gpus_in_use: 1,
            month_start: '2026-12-01T00:00:00Z',
            usage: [{ currency: 'USD', month_spend_minor: 1234, burn_per_hour_minor: 249 }],
          }),
      },
    });
    const chart = await screen.findByTestId('spend-chart');
    expect(chart.querySelectorAll('rect')).toHaveLength(2);
    expect(chart.textContent).toContain('h100-x1: USD 12.00');
    expect(chart.textContent).toContain('Storage: USD 0.34');
    const limits = await screen.findByTestId('spend-limits');
    expect(limits.textContent).toContain('1 GPU of 4');
    expect(limits.textContent).toContain('USD 12.34 of USD 5,000.00');
    expect(limits.textContent).toContain('USD 2.49 used · no limit');
  });

  it('offers Add credit and the payment history only when payments are on', async () => {
    let location = '';
    const { setCheckoutNavigator } = await import('./Payments');
    setCheckoutNavigator((u) => (location = u));
    const { calls } = renderPage(<BillingPage />, {
      path: '/billing',
      handlers: {
        'GET /api/v1/billing/balance': () => json(200, usdBalance),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/billing/storage-charges': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/payments/config': () => json(200, { enabled: true, currency: 'USD', min_minor: 500, max_minor: 100000 }),
        'GET /api/v1/payments?': () => json(200, { items: [], next_cursor: '' }),
        'POST /api/v1/payments/checkout-sessions': () =>
          json(201, {
            id: '00000001-0000-4000-8000-000000000000',
            url: 'https://checkout.example/cs_1',
            status: 'pending',
            amount_minor: 2500,
            currency: 'USD',
            expires_at: '2030-01-01T00:00:00Z',
          }),
      },
    });
    const form = await screen.findByTestId('add-credit');
    fireEvent.click(within(form).getByRole('button', { name: 'Pay USD 25.00' }));
    await waitFor(() => expect(location).toBe('https://checkout.example/cs_1'));
    const post = calls.find((c) => c.url.includes('checkout-sessions'));
    expect(post?.headers?.['Idempotency-Key'] ?? post?.headers?.['idempotency-key']).toBeTruthy();
    expect(await screen.findByText('No payments yet')).toBeTruthy();
  });

  it('hides Add credit when the server has no Stripe key', async () => {
    renderPage(<BillingPage />, {
      path: '/billing',
      handlers: {
        'GET /api/v1/billing/balance': () => json(200, usdBalance),
        'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/billing/storage-charges': () => json(200, { items: [], next_cursor: '' }),
        'GET /api/v1/payments/config': () => json(200, { enabled: false, currency: 'USD', min_minor: 500, max_minor: 100000 }),
      },
    });
    await screen.findByTestId('balance');
    await waitFor(() => expect(screen.getByText('Credit is added by an administrator.')).toBeTruthy());
    expect(screen.queryByTestId('add-credit')).toBeNull();
  });
});
