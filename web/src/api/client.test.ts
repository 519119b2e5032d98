import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api, buildUrl, setFetch } from './client';
import { ApiError } from './errors';
import { clearSession, getAccessToken, onSessionExpired, refreshSession, setTokens } from './session';

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Request-ID': 'rid', ...headers },
  });
}

const me = { id: 'u1', username: 'demo', email: 'd@x', role: 'user', created_at: '2025-01-01T00:00:00Z' };

function install(handler: Handler) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    calls.push({ url, init });
    return handler(url, init);
  });
  setFetch(f as unknown as typeof fetch);
  vi.stubGlobal('fetch', f);
  return calls;
}

const auth = (init: RequestInit) => (init.headers as Record<string, string>).Authorization;

beforeEach(() => {
  clearSession();
});

describe('refresh once on 401', () => {
  it('refreshes with the cookie (empty body) and retries once', async () => {
    setTokens({ access_token: 'old', expires_in: 900 });
    const calls = install((url, init) => {
      if (url === '/api/v1/auth/token/refresh') {
        return json(200, { access_token: 'new', refresh_token: 'r2', token_type: 'Bearer', expires_in: 900 });
      }
      return auth(init) === 'Bearer new' ? json(200, me) : json(401, { code: 'token_revoked', message: 'no' });
    });
    await expect(api.get('/api/v1/users/me')).resolves.toEqual(me);
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/users/me', '/api/v1/auth/token/refresh', '/api/v1/users/me']);
    const refresh = calls[1]!.init;
    expect(refresh.method).toBe('POST');
    expect(refresh.body).toBe('{}');
    expect(refresh.credentials).toBe('same-origin');
    expect(getAccessToken()).toBe('new');
  });

  it('ends the session when the retry is refused too, without a second refresh', async () => {
    setTokens({ access_token: 'old', expires_in: 900 });
    const expired = vi.fn();
    const off = onSessionExpired(expired);
    const calls = install((url) =>
      url === '/api/v1/auth/token/refresh'
        ? json(200, { access_token: 'new', refresh_token: 'r2', token_type: 'Bearer', expires_in: 900 })
        : json(401, { code: 'token_revoked', message: 'revoked' }),
    );
    const err = await api.get('/api/v1/users/me').catch((e: unknown) => e);
    off();
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('token_revoked');
    expect(calls.filter((c) => c.url.endsWith('/refresh'))).toHaveLength(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(getAccessToken()).toBeNull();
  });

  it('ends the session when the account is suspended (403 account_suspended), without a refresh', async () => {
    setTokens({ access_token: 'tok', expires_in: 900 });
    const expired = vi.fn();
    const off = onSessionExpired(expired);
    const calls = install(() => json(403, { code: 'account_suspended', message: 'suspended' }));
    const err = await api.get('/api/v1/users/me').catch((e: unknown) => e);
    off();
    expect((err as ApiError).code).toBe('account_suspended');
    expect(calls.filter((c) => c.url.endsWith('/refresh'))).toHaveLength(0);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('ends the session when the refresh itself is refused', async () => {
    setTokens({ access_token: 'old', expires_in: 900 });
    const expired = vi.fn();
    const off = onSessionExpired(expired);
    install((url) =>
      url === '/api/v1/auth/token/refresh'
        ? json(401, { code: 'refresh_token_reused', message: 'reused' })
        : json(401, { code: 'token_expired', message: 'expired' }),
    );
    await expect(api.get('/api/v1/users/me')).rejects.toMatchObject({ status: 401 });
    off();
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('shares one refresh between concurrent requests', async () => {
    let refreshes = 0;
    install(async (url, init) => {
      if (url === '/api/v1/auth/token/refresh') {
        refreshes++;
        await new Promise((r) => setTimeout(r, 5));
        return json(200, { access_token: 'new', refresh_token: 'r', token_type: 'Bearer', expires_in: 900 });
      }
      return auth(init) === 'Bearer new' ? json(200, me) : json(401, { code: 'unauthorized', message: 'x' });
    });
    // No token yet (a reload): every request waits for the same refresh.
    await Promise.all([api.get('/api/v1/users/me'), api.get('/api/v1/users/me'), api.get('/api/v1/users/me')]);
    expect(refreshes).toBe(1);
  });

  it('does not treat an unreachable server as signed out', async () => {
    install(() => {
      throw new TypeError('Failed to fetch');
    });
    await expect(refreshSession()).rejects.toMatchObject({ code: 'network_error' });
  });

  it('sends login anonymously and never refreshes for it', async () => {
    const calls = install(() => json(401, { code: 'invalid_credentials', message: 'wrong' }));
    await expect(
      api.post('/api/v1/auth/personal/login', { body: { username: 'a', password: 'b' }, anonymous: true }),
    ).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(calls).toHaveLength(1);
    expect(auth(calls[0]!.init)).toBeUndefined();
  });
});

describe('errors and requests', () => {
  it('throws ApiError with the envelope for non-2xx', async () => {
    setTokens({ access_token: 't', expires_in: 900 });
    install(() =>
      json(409, { code: 'invalid_state', message: 'already releasing', correlation_id: 'c9' }, { 'X-Request-ID': 'c9' }),
    );
    await expect(
      api.post('/api/v1/allocations/{allocation_id}/release', { path: { allocation_id: 'a/b' } }),
    ).rejects.toMatchObject({ status: 409, code: 'invalid_state', correlationId: 'c9' });
  });

  it('builds URLs from path and query parameters', () => {
    expect(buildUrl('/api/v1/allocations/{allocation_id}', { path: { allocation_id: 'a/b' } })).toBe(
      '/api/v1/allocations/a%2Fb',
    );
    expect(buildUrl('/api/v1/allocations', { query: { status: 'active', cursor: '', page_size: 10 } })).toBe(
      '/api/v1/allocations?status=active&page_size=10',
    );
    expect(() => buildUrl('/x/{id}', {})).toThrow(/missing path parameter id/);
  });

  it('returns undefined for 204', async () => {
    setTokens({ access_token: 't', expires_in: 900 });
    install(() => new Response(null, { status: 204 }));
    await expect(api.delete('/api/v1/ssh-keys/{key_id}', { path: { key_id: 'k' } })).resolves.toBeUndefined();
  });
});
