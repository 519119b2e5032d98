import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderPage } from '../../features/user/testing';
import { TokensPage } from './TokensPage';

const SECRET = 'gpat_' + 'x'.repeat(43);
const token = (over: Record<string, unknown> = {}) => ({
  id: 't1',
  name: 'nightly',
  scopes: ['read'],
  expires_at: '2099-01-01T00:00:00Z',
  created_at: '2025-01-01T00:00:00Z',
  last_used_at: '2025-02-01T10:00:00Z',
  last_used_ip: '203.0.113.7',
  ...over,
});

describe('TokensPage', () => {
  it('creates a token with scopes and an expiry, and shows its secret once with a copy button', async () => {
    let items: unknown[] = [];
    const { calls } = renderPage(<TokensPage />, {
      path: '/settings/tokens',
      handlers: {
        'GET /api/v1/users/me/tokens': () => json(200, { items }),
        'POST /api/v1/users/me/tokens': (c) => {
          const b = c.body as { name: string; scopes: string[]; expires_at: string };
          items = [token({ name: b.name, scopes: b.scopes, last_used_at: null, last_used_ip: null })];
          return json(201, { id: 't1', name: b.name, token: SECRET, scopes: b.scopes, expires_at: b.expires_at });
        },
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Create your first token' }));
    const dialog = await screen.findByRole('dialog', { name: 'Create an API token' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));
    expect(within(dialog).getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'ci' } });
    fireEvent.change(within(dialog).getByLabelText('Expires after'), { target: { value: '30' } });
    fireEvent.click(within(dialog).getByRole('checkbox', { name: /Billing/ }));
    // Not an admin: no admin scope offered.
    expect(within(dialog).queryByRole('checkbox', { name: /Admin/ })).toBeNull();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));

    const shown = await screen.findByRole('dialog', { name: 'Copy your new token' });
    expect(within(shown).getByTestId('token-secret').textContent).toBe(SECRET);
    expect(within(shown).getByRole('button', { name: 'Copy the token' })).toBeTruthy();
    const body = calls.filter((c) => c.method === 'POST').at(-1)!.body as { name: string; scopes: string[]; expires_at: string };
    expect(body.name).toBe('ci');
    expect(body.scopes).toEqual(['read', 'billing']);
    const days = (new Date(body.expires_at).getTime() - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);

    fireEvent.click(within(shown).getByRole('button', { name: 'Done' }));
    const table = await screen.findByRole('table', { name: 'Your API tokens' });
    expect(within(table).getByText('ci')).toBeTruthy();
    expect(within(table).getByText('Never')).toBeTruthy();
    // Gone once the dialog closes.
    expect(screen.queryByText(SECRET)).toBeNull();
  });

  it('lists the last use with its address and revokes after confirming', async () => {
    let items = [token()];
    renderPage(<TokensPage />, {
      path: '/settings/tokens',
      handlers: {
        'GET /api/v1/users/me/tokens': () => json(200, { items }),
        'DELETE /api/v1/users/me/tokens/t1': () => {
          items = [];
          return new Response(null, { status: 204 });
        },
      },
    });
    const table = await screen.findByRole('table', { name: 'Your API tokens' });
    expect(within(table).getByText('from 203.0.113.7')).toBeTruthy();
    fireEvent.click(within(table).getByRole('button', { name: 'Revoke nightly' }));
    const dialog = await screen.findByRole('dialog', { name: 'Revoke this API token?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke token' }));
    await waitFor(() => expect(screen.getByText('No API tokens yet')).toBeTruthy());
  });
});
