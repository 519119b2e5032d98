import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useAuth } from '../../app/auth';
import { json, renderPage } from '../../features/user/testing';
import { ProfilePage } from './ProfilePage';

function AuthStatus() {
  return <span data-testid="auth">{useAuth().status}</span>;
}

function fill(current: string, next: string, confirm = next) {
  fireEvent.change(screen.getByLabelText('Current password'), { target: { value: current } });
  fireEvent.change(screen.getByLabelText('New password'), { target: { value: next } });
  fireEvent.change(screen.getByLabelText('Repeat the new password'), { target: { value: confirm } });
  fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
}

describe('ProfilePage', () => {
  it('shows the account and keeps the session on a wrong current password', async () => {
    renderPage(
      <>
        <AuthStatus />
        <ProfilePage />
      </>,
      {
        path: '/settings/profile',
        handlers: {
          'POST /api/v1/users/me/password': () =>
            json(401, { code: 'invalid_credentials', message: 'current password is wrong', correlation_id: 'pw-1' }),
        },
      },
    );
    expect(await screen.findByText('demo@example.com')).toBeTruthy();
    fill('wrong-password', 'a-brand-new-password');
    await waitFor(() => expect(screen.getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText(/The current password is wrong/).textContent).not.toContain('pw-1');
    expect(screen.getByTestId('auth').textContent).toBe('signed-in');
  });

  it('checks the form locally, shows the policy error, then succeeds', async () => {
    let attempt = 0;
    renderPage(<ProfilePage />, {
      path: '/settings/profile',
      handlers: {
        'POST /api/v1/users/me/password': () =>
          ++attempt === 1
            ? json(400, { code: 'weak_password', message: 'password is too common', correlation_id: 'pw-2' })
            : new Response(null, { status: 204 }),
      },
    });
    await screen.findByText('demo@example.com');
    fill('current-password', 'short', 'other');
    expect(screen.getByText('Use at least 12 characters.')).toBeTruthy();
    expect(screen.getByText('The two new passwords do not match.')).toBeTruthy();
    fill('current-password', 'password1234');
    expect(await screen.findByText(/Choose a stronger password/)).toBeTruthy();
    fill('current-password', 'a-much-better-passphrase');
    expect(await screen.findByText('Password changed')).toBeTruthy();
    expect(screen.getByLabelText('Current password')).toHaveProperty('value', '');
  });
});
