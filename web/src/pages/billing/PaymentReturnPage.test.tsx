import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderPage } from '../../features/user/testing';
import { PaymentReturnPage } from './PaymentReturnPage';

const id = '00000001-0000-4000-8000-000000000000';
const payment = (status: string) => ({
  id,
  user_id: '00000002-0000-4000-8000-000000000000',
  status,
  amount_minor: 2500,
  currency: 'USD',
  refunded_minor: 0,
  disputed_minor: 0,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  expires_at: '2026-01-01T01:00:00Z',
});

describe('PaymentReturnPage', () => {
  it('waits while the payment is pending and shows the outcome once the webhook landed', async () => {
    let n = 0;
    renderPage(<PaymentReturnPage />, {
      path: '/billing/payments/:id',
      url: `/billing/payments/${id}?session_id=cs_test_1`,
      handlers: { [`GET /api/v1/payments/${id}`]: () => json(200, payment(++n < 2 ? 'pending' : 'succeeded')) },
    });
    const outcome = await screen.findByTestId('payment-outcome');
    expect(outcome.getAttribute('data-status')).toBe('pending');
    await waitFor(() => expect(screen.getByTestId('payment-outcome').getAttribute('data-status')).toBe('succeeded'), { timeout: 5000 });
    expect(screen.getByText('Paid: the credit is on your balance.')).toBeTruthy();
  });

  it('says nothing was charged when the user left the checkout', async () => {
    renderPage(<PaymentReturnPage />, {
      path: '/billing/payments/:id',
      url: `/billing/payments/${id}?cancelled=1`,
      handlers: { [`GET /api/v1/payments/${id}`]: () => json(200, payment('pending')) },
    });
    expect(await screen.findByText('You left the checkout; nothing was charged. You can start again.')).toBeTruthy();
  });
});
