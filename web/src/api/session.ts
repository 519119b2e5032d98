// The browser session. The access token lives in this module's memory only
// (never in localStorage or a readable cookie). The refresh token lives in the
// httpOnly cookie `gpuaas_refresh` that the server sets with Path equal to the
// refresh route, so this code never reads it: refreshing is a POST with an
// empty body and the browser attaches the cookie. See docs/web.md.
import { ApiError } from './errors';

export const REFRESH_PATH = '/api/v1/auth/token/refresh';
export const LOGIN_PATH = '/api/v1/auth/personal/login';

interface TokenResponse {
  access_token: string;
  expires_in: number;
}

type Listener = () => void;

let accessToken: string | null = null;
let expiresAt = 0; // epoch ms
let inflight: Promise<boolean> | null = null;
const expiredListeners = new Set<Listener>();

// Refresh this many ms before the token's stated expiry, so a request never
// races the deadline.
const EXPIRY_SKEW_MS = 30_000;

export function getAccessToken(): string | null {
  return accessToken;
}

/** Stores the access token of a login or refresh response. */
export function setTokens(res: TokenResponse, now: number = Date.now()): void {
  accessToken = res.access_token;
  expiresAt = now + res.expires_in * 1000;
}

export function clearSession(): void {
  accessToken = null;
  expiresAt = 0;
}

export function tokenIsFresh(now: number = Date.now()): boolean {
  return accessToken !== null && now < expiresAt - EXPIRY_SKEW_MS;
}

/**
 * Trades the refresh cookie for a new access token. Concurrent callers share
 * one request (the refresh token is single-use: two parallel refreshes would
 * present the same token twice and the server would revoke the whole login).
 * Across tabs, the Web Locks API serialises refreshes for the same reason.
 *
 * Resolves true on success, false when the server says the session is over
 * (401); rejects with ApiError on anything else (offline, 5xx, 429), since
 * those do not mean the user is signed out.
 */
export function refreshSession(fetchImpl: typeof fetch = fetch): Promise<boolean> {
  if (!inflight) {
    inflight = withRefreshLock(() => doRefresh(fetchImpl)).finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

async function doRefresh(fetchImpl: typeof fetch): Promise<boolean> {
  let res: Response;
  try {
    res = await fetchImpl(REFRESH_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: '{}',
      credentials: 'same-origin',
    });
  } catch (err) {
    throw ApiError.network(err);
  }
  if (res.ok) {
    setTokens((await res.json()) as TokenResponse);
    return true;
  }
  if (res.status === 401 || res.status === 400) {
    // 400: no cookie at all (an older server without cookie support answers
    // invalid_request to an empty body). Either way there is no session.
    clearSession();
    return false;
  }
  throw await ApiError.fromResponse(res);
}

async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return fn();
  return locks.request('gpuaas-refresh', fn);
}

/** A token good for the next request, refreshing first when it is stale. */
export async function freshAccessToken(fetchImpl: typeof fetch = fetch): Promise<string | null> {
  if (tokenIsFresh()) return accessToken;
  const ok = await refreshSession(fetchImpl);
  return ok ? accessToken : null;
}

/** Called when a request is refused even after a refresh: the session is over. */
export function onSessionExpired(fn: Listener): () => void {
  expiredListeners.add(fn);
  return () => expiredListeners.delete(fn);
}

export function notifySessionExpired(): void {
  clearSession();
  for (const fn of expiredListeners) fn();
}
