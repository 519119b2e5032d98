import { act, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FakeWebSocket, json, renderPage, usdBalance } from '../features/user/testing';
import { BalanceBanner } from './BalanceBanner';

function show(balance: Record<string, unknown>, paymentsEnabled = true) {
  return renderPage(<BalanceBanner />, {
    path: '/',
    handlers: {
      'GET /api/v1/billing/balance': () => json(200, { ...usdBalance, ...balance }),
      'GET /api/v1/payments/config': () =>
        json(200, { enabled: paymentsEnabled, currency: 'USD', min_minor: 500, max_minor: 100000 }),
    },
  });
}

describe('BalanceBanner', () => {
  it('warns of a low balance with Add credit', async () => {
    show({ balance_minor: 500, burn_rate_per_hour_minor: 1000, runway_seconds: 1800 - 1 });
    const banner = await screen.findByTestId('low-balance-banner');
    expect(banner.textContent).toContain('USD 5.00 left');
    expect((await screen.findByTestId('add-credit-link')).getAttribute('href')).toBe('/billing?add_credit=1');
    expect(screen.queryByTestId('depleted-balance-banner')).toBeNull();
  });

  it('sends to Billing instead when the server takes no payments', async () => {
    show({ balance_minor: -120 }, false);
    const banner = await screen.findByTestId('depleted-balance-banner');
    await waitFor(() => expect(banner.querySelector('a')?.getAttribute('href')).toBe('/billing'));
    expect(screen.queryByTestId('add-credit-link')).toBeNull();
  });

  it('shows a distinct banner when the balance has run out', async () => {
    show({ balance_minor: -120 });
    const banner = await screen.findByTestId('depleted-balance-banner');
    expect(banner.className).toContain('banner-danger');
    expect(banner.textContent).toContain('USD -1.20');
    expect((await screen.findByTestId('add-credit-link')).getAttribute('href')).toBe('/billing?add_credit=1');
    expect(screen.queryByTestId('low-balance-banner')).toBeNull();
  });

  it('shows nothing for a healthy balance, and the depleted banner when the server says so', async () => {
    show({ balance_minor: 0 });
    const ws = await waitFor(() => {
      const s = FakeWebSocket.last('/ws/notifications');
      if (!s) throw new Error('no socket yet');
      return s;
    });
    expect(screen.queryByTestId('low-balance-banner')).toBeNull();
    act(() => {
      ws.open();
      ws.push({ type: 'billing.balance_depleted', id: 'd1', balance_minor: 0, currency: 'USD' });
    });
    expect(await screen.findByTestId('depleted-balance-banner')).toBeTruthy();
  });
});
