// Who is signed in. On start (a reload or a deep link) the app trades the
// refresh cookie for an access token, then reads /users/me; until that settles
// nothing below renders. A session that ends later (a request refused even
// after a refresh) sends the user to /login?next=<where they were>.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api } from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import { LOGIN_PATH, clearSession, onSessionExpired, refreshSession, setTokens } from '../api/session';
import type { TokenPair, User } from '../api/types';

export type AuthStatus = 'starting' | 'signed-in' | 'signed-out' | 'error';

export interface Auth {
  status: AuthStatus;
  user: User | null;
  /** Why start-up failed (server unreachable …); the app offers a retry. */
  error: ApiError | null;
  /** True when the last session ended by itself (expired), not by logout. */
  expired: boolean;
  isAdmin: boolean;
  login: (username: string, password: string) => Promise<User>;
  logout: () => Promise<void>;
  retry: () => void;
}

const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside <AuthProvider>');
  return a;
}

/** The signed-in user; only for components under the signed-in routes. */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error('useUser with nobody signed in');
  return user;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<AuthStatus>('starting');
  const [user, setUser] = useState<User | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [expired, setExpired] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      setStatus('starting');
      try {
        const ok = await refreshSession();
        if (!ok) {
          if (!cancelled) setStatus('signed-out');
          return;
        }
        const me = await api.get('/api/v1/users/me');
        if (cancelled) return;
        setUser(me);
        setStatus('signed-in');
      } catch (err) {
        if (cancelled) return;
        const e = toApiError(err);
        if (e.status === 401) {
          setStatus('signed-out');
        } else {
          setError(e);
          setStatus('error');
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  useEffect(
    () =>
      onSessionExpired(() => {
        setUser(null);
        setExpired(true);
        setStatus('signed-out');
      }),
    [],
  );

  const login = useCallback(async (username: string, password: string) => {
    const pair = (await api.post(LOGIN_PATH, { body: { username, password }, anonymous: true })) as TokenPair;
    setTokens(pair);
    const me = await api.get('/api/v1/users/me');
    setUser(me);
    setExpired(false);
    setError(null);
    setStatus('signed-in');
    return me;
  }, []);

  const logout = useCallback(async () => {
    let endSession: string | undefined;
    try {
      // Revokes the access token and the session's refresh tokens, and clears the cookie.
      // A session from an OIDC provider answers where to end the provider's session too.
      const res = await api.post('/api/v1/auth/logout', { body: {} });
      endSession = (res as { end_session_url?: string } | undefined)?.end_session_url;
    } catch {
      // Signed out locally whatever the server said.
    }
    clearSession();
    if (endSession) {
      window.location.assign(endSession);
      return;
    }
    setUser(null);
    setExpired(false);
    setStatus('signed-out');
  }, []);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  const value = useMemo<Auth>(
    () => ({ status, user, error, expired, isAdmin: user?.role === 'admin', login, logout, retry }),
    [status, user, error, expired, login, logout, retry],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
