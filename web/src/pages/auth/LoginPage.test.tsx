import { act, fireEvent, render, screen } from '@testing-library/react';
import { RouterProvider, createMemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setFetch } from '../../api/client';
import { clearSession } from '../../api/session';
import { AuthProvider } from '../../app/auth';
import { AnnouncerProvider } from '../../components/Announcer';
import { LoginPage } from './LoginPage';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const me = { id: 'u1', username: 'demo', email: 'd@x', role: 'user', created_at: '2025-01-01T00:00:00Z' };

function renderLogin(handler: (url: string) => Response, entry = '/login?next=%2Fallocations%2Fa1') {
  const f = vi.fn(async (input: RequestInfo | URL) => handler(String(input)));
  setFetch(f as unknown as typeof fetch);
  vi.stubGlobal('fetch', f);
  const router = createMemoryRouter(
    [
      { path: '/login', element: <LoginPage /> },
      { path: '/allocations/:id', element: <p>allocation page</p> },
      { path: '/marketplace', element: <p>marketplace page</p> },
    ],
    { initialEntries: [entry] },
  );
  render(
    <AnnouncerProvider>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </AnnouncerProvider>,
  );
  return f;
}

async function fillAndSubmit() {
  fireEvent.change(await screen.findByLabelText('Username'), { target: { value: 'demo' } });
  fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret-password' } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

beforeEach(() => {
  clearSession();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LoginPage', () => {
  it('offers the OIDC providers with next, and says why a provider sign-in failed', async () => {
    renderLogin((url) => {
      if (url.endsWith('/refresh')) return json(401, { code: 'unauthorized', message: 'no session' });
      if (url.endsWith('/api/v1/auth/providers'))
        return json(200, {
          providers: [{ name: 'hydra', display_name: 'Lab SSO', authorize_url: '/api/v1/auth/oidc/hydra/authorize' }],
          personal_login: 'admins',
        });
      return json(404, { code: 'not_found', message: 'no' });
    }, '/login?error=account_exists&next=%2Fmarketplace');
    const link = await screen.findByRole('link', { name: 'Sign in with Lab SSO' });
    expect(link.getAttribute('href')).toBe('/api/v1/auth/oidc/hydra/authorize?next=%2Fmarketplace');
    expect(screen.getByTestId('oidc-error').textContent).toMatch(/already exists/);
    expect(screen.getByText('Password sign-in is for administrators only.')).toBeTruthy();
  });

  it('counts down Retry-After on 429 with submit disabled until it ends', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    renderLogin((url) => {
      if (url.endsWith('/refresh')) return json(401, { code: 'unauthorized', message: 'no session' });
      return json(
        429,
        { code: 'rate_limited', message: 'too many sign-in attempts', correlation_id: 'rl-1' },
        { 'Retry-After': '3', 'X-Request-ID': 'rl-1' },
      );
    });
    await fillAndSubmit();
    expect(await screen.findByTestId('retry-countdown')).toHaveProperty(
      'textContent',
      'Too many sign-in attempts. You can try again in 3s.',
    );
    // Said once: no second error box, no "wait" on the button.
    expect(screen.queryByTestId('error-box')).toBeNull();
    // The password is cleared; type it again: submit stays off while waiting.
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret-password' } });
    const button = screen.getByRole('button', { name: 'Sign in' });
    expect(button).toHaveProperty('disabled', true);
    await act(async () => {
      vi.advanceTimersByTime(1100);
    });
    expect(screen.getByTestId('retry-countdown').textContent).toContain('2');
    await act(async () => {
      vi.advanceTimersByTime(2500);
    });
    expect(screen.queryByTestId('retry-countdown')).toBeNull();
    expect(screen.getByRole('button', { name: 'Sign in' })).toHaveProperty('disabled', false);
  });

  it('shows the mapped error and the correlation id for wrong credentials', async () => {
    renderLogin((url) =>
      url.endsWith('/refresh')
        ? json(401, { code: 'unauthorized', message: 'no session' })
        : json(401, { code: 'invalid_credentials', message: 'invalid credentials', correlation_id: 'c-7' }),
    );
    await fillAndSubmit();
    const alert = await screen.findByTestId('error-box');
    expect(alert.textContent).toContain('Wrong username or password.');
    expect(alert.textContent).toContain('c-7');
  });

  it('signs in and goes to next', async () => {
    const f = renderLogin((url) => {
      if (url.endsWith('/refresh')) return json(401, { code: 'unauthorized', message: 'no session' });
      if (url.endsWith('/login')) {
        return json(200, { access_token: 'a', refresh_token: 'r', token_type: 'Bearer', expires_in: 900 });
      }
      return json(200, me);
    });
    await fillAndSubmit();
    expect(await screen.findByText('allocation page')).toBeTruthy();
    const loginCall = f.mock.calls.find(([u]) => String(u).endsWith('/login'));
    expect(loginCall).toBeDefined();
  });
});
