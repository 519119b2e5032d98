import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin, users } from '../../features/admin/testing';
import { UserDetailPage } from './UserDetailPage';

const demo = users[0]!;

function server(adjust: (body: unknown) => Response) {
  return renderAdmin('/admin/users/:id', `/admin/users/${demo.id}`, UserDetailPage, (r) => {
    const p = r.url.pathname;
    if (p === `/api/v1/admin/users/${demo.id}`) return json(200, demo);
    if (p === '/api/v1/admin/audit-logs') return json(200, { items: [], next_cursor: '' });
    if (p === '/api/v1/admin/allocations') return json(200, { items: [], next_cursor: '' });
    if (p === `/api/v1/admin/users/${demo.id}/balance` && r.method === 'POST') return adjust(r.body);
    return undefined;
  });
}

describe('UserDetailPage', () => {
  it('shows the profile and links to the user’s allocations and audit entries', async () => {
    server(() => json(500, {}));
    await screen.findByRole('heading', { level: 1, name: 'demo' });
    expect(screen.getByRole('link', { name: 'Their allocations' }).getAttribute('href')).toBe(
      `/admin/allocations?user_id=${demo.id}`,
    );
    expect(screen.getByRole('link', { name: 'Actions by demo' }).getAttribute('href')).toBe(
      `/admin/audit-logs?actor_user_id=${demo.id}`,
    );
    expect(screen.getByRole('link', { name: 'Changes to demo' }).getAttribute('href')).toBe(
      `/admin/audit-logs?target_id=${demo.id}`,
    );
    expect(screen.getByText('No adjustments yet.')).toBeTruthy();
  });

  it('posts the typed amount as integer minor units with a reason and an Idempotency-Key', async () => {
    const s = server(() =>
      json(200, {
        user_id: demo.id,
        balance_minor: 11234,
        currency: 'USD',
        unbilled_minor: 0,
        burn_rate_per_hour_minor: 0,
        runway_seconds: null,
      }),
    );
    await screen.findByRole('heading', { level: 1, name: 'demo' });
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '12.34' } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'goodwill' } });
    fireEvent.click(screen.getByRole('button', { name: 'Credit $12.34' }));
    await within(screen.getByTestId('user-balance')).findByText('$112.34');
    const post = s.requests.find((r) => r.method === 'POST')!;
    expect(post.body).toEqual({ amount_minor: 1234, reason: 'goodwill' });
    expect(post.headers['Idempotency-Key']).toMatch(/^[0-9a-f]{32}$/);
    // The form is empty again, ready for the next adjustment.
    expect((screen.getByLabelText('Amount (USD)') as HTMLInputElement).value).toBe('');
  });

  it('refuses a bad amount or a missing reason before calling the API', async () => {
    const s = server(() => json(500, {}));
    await screen.findByRole('heading', { level: 1, name: 'demo' });
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '1,5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Adjust balance' }));
    expect(await screen.findByText('Use a dot for decimals, e.g. 12.34.')).toBeTruthy();
    expect(screen.getByText('Say why; the reason is kept in the audit log.')).toBeTruthy();
    expect(s.requests.some((r) => r.method === 'POST')).toBe(false);
  });

  it('debits with a negative amount and shows an API error with its correlation id', async () => {
    const s = server(() => json(400, { code: 'invalid_request', message: 'amount too large', correlation_id: 'cid-adj' }));
    await screen.findByRole('heading', { level: 1, name: 'demo' });
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '-5' } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'refund reversal' } });
    fireEvent.click(screen.getByRole('button', { name: 'Debit $5.00' }));
    expect(await screen.findByText('cid-adj')).toBeTruthy();
    await waitFor(() => expect(s.requests.find((r) => r.method === 'POST')?.body).toEqual({ amount_minor: -500, reason: 'refund reversal' }));
  });
});
