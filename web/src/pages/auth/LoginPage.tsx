import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { components } from '../../api/schema';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { toApiError, type ApiError } from '../../api/errors';
import { useAuth } from '../../app/auth';
import { Splash } from '../../app/guards';
import { useAnnounce } from '../../components/Announcer';
import { ErrorBox } from '../../components/ErrorBox';
import { Icon } from '../../components/Icon';
import { safeNext } from '../../lib/safeNext';
import { formatDuration } from '../../lib/format';
import { useCountdown } from '../../lib/useCountdown';

type AuthProviders = components['schemas']['AuthProviders'];

/** Plain words for the codes an OIDC callback sends back as /login?error=<code>. */
export const OIDC_ERRORS: Record<string, string> = {
  unknown_provider: 'That sign-in provider is not configured here.',
  invalid_state: 'The sign-in expired or was already used. Please start again.',
  provider_error: 'The identity provider did not complete the sign-in. Please try again.',
  provider_unavailable: 'The identity provider cannot be reached right now. Try again later.',
  invalid_id_token: 'The identity provider’s answer could not be verified. Please try again.',
  nonce_mismatch: 'The sign-in could not be verified. Please start again.',
  signup_disabled: 'There is no account for you here yet. Ask an administrator to create one.',
  account_exists:
    'An account with your email already exists and cannot be linked automatically. Sign in with your password, or ask an administrator.',
  account_suspended: 'Your account is suspended. Contact an administrator.',
  server_error: 'Something went wrong while signing you in. Please try again.',
};

export function oidcErrorText(code: string | null): string | undefined {
  if (!code) return undefined;
  return OIDC_ERRORS[code] ?? 'The sign-in did not complete. Please try again.';
}

export function LoginPage() {
  const { status, login, expired } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const announce = useAnnounce();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError>();
  const wait = useCountdown();
  const oidcError = oidcErrorText(params.get('error'));
  const [methods, setMethods] = useState<AuthProviders>();

  useEffect(() => {
    let live = true;
    api
      .get('/api/v1/auth/providers', { anonymous: true })
      .then((m) => live && setMethods(m as AuthProviders))
      .catch(() => {
        // No list: the password form alone, as before.
      });
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    document.title = 'Sign in · GPUaaS';
  }, []);

  useEffect(() => {
    if (wait.remaining === 0 && error?.code === 'rate_limited') announce('You can try signing in again.');
  }, [wait.remaining, error, announce]);

  if (status === 'starting') return <Splash />;
  if (status === 'signed-in' && !pending) return <Navigate to={next} replace />;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending || wait.remaining > 0) return;
    setPending(true);
    setError(undefined);
    try {
      await login(username.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      const apiErr = toApiError(err);
      setError(apiErr);
      if (apiErr.status === 429) {
        const secs = apiErr.retryAfter ?? 60;
        wait.start(secs);
        // Announced once; the ticking text itself is not a live region.
        announce(`Too many sign-in attempts. You can try again in ${formatDuration(secs)}.`);
      }
      setPassword('');
      setPending(false);
    }
  };

  const limited = wait.remaining > 0;
  return (
    <div className="login">
      <main className="login-card" aria-labelledby="login-title">
        <div className="login-brand">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="gpu" size={22} />
          </span>
          <span>GPUaaS</span>
        </div>
        <h1 id="login-title">Sign in</h1>
        <p className="muted">GPUs by the second, in your own cloud.</p>
        {expired && !error && (
          <div className="notice" role="status">
            Your session has ended. Sign in again to continue.
          </div>
        )}
        {oidcError && !error && (
          <div className="notice error" role="alert" data-testid="oidc-error">
            {oidcError}
          </div>
        )}
        {methods && Array.isArray(methods.providers) && methods.providers.length > 0 && (
          <div className="login-providers">
            {methods.providers.map((p) => (
              <a
                key={p.name}
                className="button block"
                href={`${p.authorize_url}?next=${encodeURIComponent(next)}`}
              >
                Sign in with {p.display_name}
              </a>
            ))}
            <p className="muted small">
              {methods.personal_login === 'admins'
                ? 'Password sign-in is for administrators only.'
                : 'Or sign in with your username and password.'}
            </p>
          </div>
        )}
        <form onSubmit={onSubmit} noValidate>
          <div className="field">
            <label htmlFor="login-username">Username</label>
            <input
              id="login-username"
              className="input"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              autoFocus
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="login-password">Password</label>
            <input
              id="login-password"
              className="input"
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {/* A lock-out is said once, in one place: how long, nothing else. */}
          {error && error.status !== 429 && <ErrorBox error={error} compact />}
          {limited && (
            <p className="countdown" data-testid="retry-countdown">
              Too many sign-in attempts. You can try again in {formatDuration(wait.remaining)}.
            </p>
          )}
          <button
            type="submit"
            className="button primary block"
            disabled={pending || limited || !username || !password}
          >
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </main>
    </div>
  );
}
