import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api/errors';
import { clearSession, onSessionExpired, setTokens } from '../../api/session';
import { changePassword, checkPasswordForm } from './password';

afterEach(() => clearSession());

function res(status: number, body?: unknown) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status });
}

describe('changePassword', () => {
  it('sends both passwords with the bearer token', async () => {
    setTokens({ access_token: 'acc', expires_in: 900 });
    const f = vi.fn(async () => res(204));
    await changePassword('old-password-1', 'new-password-12', f as unknown as typeof fetch);
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/users/me/password');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer acc');
    expect(JSON.parse(init.body as string)).toEqual({ current_password: 'old-password-1', new_password: 'new-password-12' });
  });

  it('treats a wrong current password as a form error, not an ended session', async () => {
    setTokens({ access_token: 'acc', expires_in: 900 });
    const expired = vi.fn();
    const off = onSessionExpired(expired);
    const f = vi.fn(async () => res(401, { code: 'invalid_credentials', message: 'current password is wrong', correlation_id: 'c1' }));
    const err = await changePassword('bad', 'new-password-12', f as unknown as typeof fetch).catch((e) => e);
    off();
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('invalid_credentials');
    expect(err.correlationId).toBe('c1');
    expect(expired).not.toHaveBeenCalled();
    expect(f).toHaveBeenCalledTimes(1);
  });

  it('ends the session on a refused token', async () => {
    setTokens({ access_token: 'acc', expires_in: 900 });
    const expired = vi.fn();
    const off = onSessionExpired(expired);
    const f = vi.fn(async () => res(401, { code: 'token_revoked', message: 'revoked' }));
    await changePassword('a', 'b', f as unknown as typeof fetch).catch(() => {});
    off();
    expect(expired).toHaveBeenCalledTimes(1);
  });
});

describe('checkPasswordForm', () => {
  it('checks presence, length, difference and the repeat', () => {
    expect(checkPasswordForm({ current: '', next: 'short', confirm: 'x' })).toEqual({
      current: expect.any(String),
      next: expect.stringMatching(/12/),
      confirm: expect.any(String),
    });
    expect(checkPasswordForm({ current: 'same-password-1', next: 'same-password-1', confirm: 'same-password-1' }).next).toMatch(
      /differ/,
    );
    expect(checkPasswordForm({ current: 'a', next: 'long-enough-pass', confirm: 'long-enough-pass' })).toEqual({});
  });
});
