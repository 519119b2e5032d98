import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin, users } from '../../features/admin/testing';
import { UserDetailPage } from './UserDetailPage';

const demo = users[0]!;

function balance(minor: number, over: Record<string, unknown> = {}) {
  return {
    user_id: demo.id,
    balance_minor: minor,
    currency: 'USD',
    unbilled_minor: 0,
    burn_rate_per_hour_minor: 0,
    runway_seconds: null,
    ...over,
  };
}

/** A fake server whose GET balance answers what the last successful adjustment left. */
function server(adjust: (body: unknown) => Response, start: Response | number = 10000) {
  let current = typeof start === 'number' ? start : 0;
  return renderAdmin('/admin/users/:id', `/admin/users/${demo.id}`, UserDetailPage, (r) => {
    const p = r.url.pathname;
    if (p === `/api/v1/admin/users/${demo.id}`) return json(200, demo);
    if (p === '/api/v1/admin/audit-logs') return json(200, { items: [], next_cursor: '' });
    if (p === '/api/v1/admin/allocations') return json(200, { items: [], next_cursor: '' });
    if (p === `/api/v1/admin/users/${demo.id}/balance` && r.method === 'GET') {
      return typeof start === 'number' ? json(200, balance(current)) : start.clone();
    }
    if (p === `/api/v1/admin/users/${demo.id}/balance` && r.method === 'POST') {
      const res = adjust(r.body);
      if (res.ok) current += (r.body as { amount_minor: number }).amount_minor;
      return res;
    }
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
      `/admin/audit-logs?target_type=user&target_id=${demo.id}`,
    );
    expect(screen.getByText('No adjustments yet.')).toBeTruthy();
  });

  it('shows the user’s balance, burn rate and runway as the user sees them', async () => {
    server(() => json(500, {}), json(200, balance(4200, { burn_rate_per_hour_minor: 249, runway_seconds: 7200 })));
    const panel = await screen.findByTestId('user-balance');
    expect(await within(panel).findByText('USD 42.00')).toBeTruthy();
    expect(within(panel).getByText(/Spending USD 2\.49 an hour/)).toBeTruthy();
    expect(within(panel).getByText(/lasts about/)).toBeTruthy();
  });

  it('shows why the balance could not be read, with the correlation id', async () => {
    server(() => json(500, {}), json(503, { code: 'unavailable', message: 'db down', correlation_id: 'cid-bal' }));
    const panel = await screen.findByTestId('user-balance');
    expect(await within(panel).findByText('cid-bal')).toBeTruthy();
  });

  it('posts the typed amount as integer minor units with a reason and an Idempotency-Key', async () => {
    const s = server(() => json(200, balance(11234)));
    await screen.findByRole('heading', { level: 1, name: 'demo' });
    await within(screen.getByTestId('user-balance')).findByText('USD 100.00');
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '12.34' } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'goodwill' } });
    fireEvent.click(screen.getByRole('button', { name: 'Credit USD 12.34' }));
    await within(screen.getByTestId('user-balance')).findByText('USD 112.34');
    const post = s.requests.find((r) => r.method === 'POST')!;
    expect(post.body).toEqual({ amount_minor: 1234, reason: 'goodwill' });
    expect(post.headers['Idempotency-Key']).toMatch(/^web-[0-9a-f]{32}$/);
    // The form is empty again, ready for the next adjustment.
    expect((screen.getByLabelText('Amount (USD)') as HTMLInputElement).value).toBe('');
    // The panel reads the balance again after the adjustment.
    const reads = () => s.calls().filter((c) => c === `GET /api/v1/admin/users/${demo.id}/balance`).length;
    await waitFor(() => expect(reads()).toBe(2));
    expect(within(screen.getByTestId('user-balance')).getByText('USD 112.34')).toBeTruthy();
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
    fireEvent.click(screen.getByRole('button', { name: 'Debit USD 5.00' }));
    expect(await screen.findByText('cid-adj')).toBeTruthy();
    await waitFor(() => expect(s.requests.find((r) => r.method === 'POST')?.body).toEqual({ amount_minor: -500, reason: 'refund reversal' }));
  });
});

describe('UserDetailPage account actions', () => {
  it('issues a password reset link and shows it once, absolute', async () => {
    renderAdmin('/admin/users/:id', `/admin/users/${demo.id}`, UserDetailPage, (r) => {
      const p = r.url.pathname;
      if (p === `/api/v1/admin/users/${demo.id}`) return json(200, demo);
      if (p === `/api/v1/admin/users/${demo.id}/password-reset` && r.method === 'POST') {
        return json(200, { url: '/reset-password?token=abc', expires_at: '2026-01-01T01:00:00Z' });
      }
      if (p.endsWith('/balance')) return json(200, balance(0));
      return json(200, { items: [], next_cursor: '' });
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Password reset link…' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Issue link' }));
    const link = await screen.findByTestId('reset-link');
    expect(link.textContent).toContain(`${window.location.origin}/reset-password?token=abc`);
  });

  it('says plainly when the server does not offer an action, and the 409 reasons in words', async () => {
    renderAdmin('/admin/users/:id', `/admin/users/${demo.id}`, UserDetailPage, (r) => {
      const p = r.url.pathname;
      if (p === `/api/v1/admin/users/${demo.id}` && r.method === 'GET') return json(200, demo);
      if (p === `/api/v1/admin/users/${demo.id}` && r.method === 'DELETE') {
        return json(409, { code: 'user_has_allocations', message: 'user holds 1 allocation', correlation_id: 'd-1' });
      }
      if (p.endsWith('/suspend')) {
        return json(404, { code: 'not_found', message: `route ${p} not found`, correlation_id: 's-1' });
      }
      if (p.endsWith('/balance')) return json(200, balance(0));
      return json(200, { items: [], next_cursor: '' });
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Suspend…' }));
    const dialog = screen.getByRole('dialog', { name: `Suspend ${demo.username}?` });
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: 'abuse' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Suspend' }));
    expect(await within(dialog).findByText(/This server does not offer this action yet/)).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete user…' }));
    const del = screen.getByRole('dialog', { name: `Delete ${demo.username}?` });
    fireEvent.click(within(del).getByRole('button', { name: 'Delete user' }));
    expect(await within(del).findByText('This user still holds allocations. Release them first.')).toBeTruthy();
  });
});

describe('UserDetailPage storage quota', () => {
  const GiB = 2 ** 30;
  function quotaServer(put: (body: unknown) => Response, get: () => Response) {
    return renderAdmin('/admin/users/:id', `/admin/users/${demo.id}`, UserDetailPage, (r) => {
      const p = r.url.pathname;
      if (p === `/api/v1/admin/users/${demo.id}`) return json(200, demo);
      if (p === `/api/v1/admin/users/${demo.id}/storage-quota` && r.method === 'GET') return get();
      if (p === `/api/v1/admin/users/${demo.id}/storage-quota` && r.method === 'PUT') return put(r.body);
      if (p.endsWith('/balance')) return json(200, balance(0));
      return json(200, { items: [], next_cursor: '' });
    });
  }

  it('shows usage against the quota, sets a quota typed in GB as integer bytes, and resets it to the default', async () => {
    let quota = 10 * GiB;
    const s = quotaServer(
      (body) => {
        const q = (body as { quota_bytes: number | null }).quota_bytes;
        quota = q ?? 10 * GiB;
        return json(200, { region: 'local-1', used_bytes: 3 * GiB, quota_bytes: quota });
      },
      () => json(200, { region: 'local-1', used_bytes: 3 * GiB, quota_bytes: quota }),
    );
    const panel = await screen.findByTestId('storage-quota');
    expect(await within(panel).findByText('3 GB of 10 GB used (30%)')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('New quota (GB)'), { target: { value: '2.5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set quota to 2.5 GB' }));
    expect(await within(panel).findByText('3 GB of 2.5 GB used (120%)')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Reset to default' }));
    await within(panel).findByText('3 GB of 10 GB used (30%)');
    const puts = s.requests.filter((r) => r.method === 'PUT').map((r) => r.body);
    expect(puts).toEqual([{ quota_bytes: 2684354560 }, { quota_bytes: null }]);
  });

  it('refuses a bad size before calling the API', async () => {
    const s = quotaServer(
      () => json(500, {}),
      () => json(200, { region: 'local-1', used_bytes: 0, quota_bytes: GiB }),
    );
    await screen.findByTestId('storage-quota');
    fireEvent.change(screen.getByLabelText('New quota (GB)'), { target: { value: '-3' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set quota' }));
    expect(await screen.findByText('A quota cannot be negative.')).toBeTruthy();
    expect(s.requests.some((r) => r.method === 'PUT')).toBe(false);
  });

  it('says so when the server has no storage', async () => {
    quotaServer(
      () => json(500, {}),
      () => json(503, { code: 'storage_disabled', message: 'off' }),
    );
    expect((await screen.findByTestId('storage-quota-off')).textContent).toMatch(/not set up on this server/);
  });
});

describe('UserDetailPage spend limits', () => {
  const limits = (o: Record<string, number | null>) => ({
    max_concurrent_gpus: o.max_concurrent_gpus ?? null,
    max_monthly_spend_minor: o.max_monthly_spend_minor ?? null,
    max_burn_per_hour_minor: o.max_burn_per_hour_minor ?? null,
    overrides: { max_concurrent_gpus: null, max_monthly_spend_minor: null, max_burn_per_hour_minor: null, ...o },
    gpus_in_use: 2,
    month_start: '2026-12-01T00:00:00Z',
    usage: [{ currency: 'USD', month_spend_minor: 1234, burn_per_hour_minor: 498 }],
  });

  it('shows the limits with their use and saves them typed in major units as minor units, blank as the default', async () => {
    let current = limits({ max_concurrent_gpus: 8 });
    const s = renderAdmin('/admin/users/:id', `/admin/users/${demo.id}`, UserDetailPage, (r) => {
      const p = r.url.pathname;
      if (p === `/api/v1/admin/users/${demo.id}`) return json(200, demo);
      if (p === `/api/v1/admin/users/${demo.id}/limits` && r.method === 'GET') return json(200, current);
      if (p === `/api/v1/admin/users/${demo.id}/limits` && r.method === 'PUT') {
        current = limits(r.body as Record<string, number | null>);
        return json(200, current);
      }
      if (p.endsWith('/balance')) return json(200, balance(0));
      return json(200, { items: [], next_cursor: '' });
    });
    const panel = await screen.findByTestId('admin-user-limits');
    await waitFor(() => expect(panel.textContent).toContain('2 GPUs of 8'));
    expect(panel.textContent).toContain('USD 12.34 used · no limit');
    await waitFor(() => expect((screen.getByLabelText('Most GPUs at once') as HTMLInputElement).value).toBe('8'));
    fireEvent.change(screen.getByLabelText('Most GPUs at once'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Most spend per month (USD)'), { target: { value: '1,500.50' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save limits' }));
    await waitFor(() => expect(panel.textContent).toContain('USD 12.34 of USD 1,500.50'));
    const puts = s.requests.filter((r) => r.method === 'PUT').map((r) => r.body);
    expect(puts).toEqual([{ max_concurrent_gpus: null, max_monthly_spend_minor: 150050, max_burn_per_hour_minor: null }]);
  });
});
