import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin } from '../../features/admin/testing';
import { AdminPaymentPage } from './AdminPaymentPage';
import { AdminPaymentsPage } from './AdminPaymentsPage';

const id = '00000001-0000-4000-8000-000000000000';
const payment = {
  id,
  user_id: '00000002-0000-4000-8000-000000000000',
  status: 'succeeded',
  amount_minor: 5000,
  currency: 'USD',
  refunded_minor: 1000,
  disputed_minor: 0,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  expires_at: '2026-01-01T01:00:00Z',
  credited_at: '2026-01-01T00:01:00Z',
  stripe_checkout_session_id: 'cs_test_1',
  stripe_customer_id: 'cus_test_1',
  stripe_payment_intent_id: 'pi_test_1',
};

describe('AdminPaymentPage', () => {
  it('refunds part with a reason and an Idempotency-Key, and says what is left', async () => {
    const s = renderAdmin('/admin/payments/:id', `/admin/payments/${id}`, AdminPaymentPage, (r) => {
      if (r.url.pathname === `/api/v1/admin/payments/${id}` && r.method === 'GET') return json(200, { payment, refunds: [] });
      if (r.url.pathname === `/api/v1/admin/payments/${id}/refunds`) {
        return r.body && (r.body as { amount_minor: number }).amount_minor > 4000
          ? json(409, { code: 'refund_exceeds_payment', message: 'x', correlation_id: 'c', details: { refundable_minor: 4000, currency: 'USD' } })
          : json(201, { payment: { ...payment, refunded_minor: 2500, status: 'partially_refunded' }, refunds: [] });
      }
      return undefined;
    });
    await screen.findByText('cs_test_1');
    expect(screen.getByText('Up to USD 40.00')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '40.01' } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'asked' } });
    fireEvent.click(screen.getByRole('button', { name: 'Refund USD 40.01' }));
    expect(await screen.findByText('At most USD 40.00 is left to refund.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '15' } });
    fireEvent.click(screen.getByRole('button', { name: 'Refund USD 15.00' }));
    await waitFor(() => expect(s.requests.some((r) => r.method === 'POST')).toBe(true));
    const post = s.requests.find((r) => r.method === 'POST')!;
    expect(post.body).toEqual({ amount_minor: 1500, reason: 'asked' });
    expect(post.headers['Idempotency-Key']).toMatch(/^web-/);
  });
});

describe('AdminPaymentsPage', () => {
  it('lists payments and shows what Reconcile now repaired', async () => {
    renderAdmin('/admin/payments', '/admin/payments', AdminPaymentsPage, (r) => {
      if (r.url.pathname === '/api/v1/admin/payments') return json(200, { items: [payment], next_cursor: '' });
      if (r.url.pathname === '/api/v1/admin/users') return json(200, { items: [], next_cursor: '' });
      if (r.url.pathname === '/api/v1/admin/payments/reconcile') {
        return json(200, {
          sessions_seen: 3,
          credited: 1,
          expired: 1,
          failed: 0,
          mismatches: [{ payment_id: id, stripe_checkout_session_id: 'cs_test_9', reason: 'amount 50, want 5000' }],
        });
      }
      return undefined;
    });
    await screen.findByText('cs_test_1');
    fireEvent.click(screen.getByTestId('reconcile'));
    const report = await screen.findByTestId('reconcile-report');
    expect(report.textContent).toContain('3 Checkout Sessions checked: 1 credited, 1 expired, 0 failed, 1 mismatch.');
    expect(screen.getByText(/amount 50, want 5000/)).toBeTruthy();
  });
});
