// /reset-password?token=…: the one-time link an administrator issued (issue
// 11, item 6). The new password is sent with the token to
// POST /api/v1/auth/password-reset {token, new_password}; a spent or expired
// link is a 410 reset_link_expired, said in words. No session is needed.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { routeMissing, toApiError, type ApiError } from '../../api/errors';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Icon } from '../../components/Icon';
import { MIN_PASSWORD_LENGTH } from '../../features/user/password';

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [touched, setTouched] = useState(false);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState(false);

  useEffect(() => {
    document.title = 'Choose a new password · GPUaaS';
  }, []);

  const nextError = touched && next.length < MIN_PASSWORD_LENGTH ? `Use at least ${MIN_PASSWORD_LENGTH} characters.` : undefined;
  const confirmError = touched && confirm !== next ? 'The two passwords do not match.' : undefined;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (pending || next.length < MIN_PASSWORD_LENGTH || confirm !== next) return;
    setPending(true);
    setError(undefined);
    try {
      await api.post('/api/v1/auth/password-reset', { anonymous: true, body: { token, new_password: next } });
      setDone(true);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setPending(false);
    }
  };

  return (
    <div className="login">
      <main className="login-card" aria-labelledby="reset-title">
        <div className="login-brand">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="gpu" size={22} />
          </span>
          <span>GPUaaS</span>
        </div>
        <h1 id="reset-title">Choose a new password</h1>
        {!token ? (
          <p className="notice" role="alert">
            This link has no reset token. Ask an administrator for a new link.
          </p>
        ) : done ? (
          <>
            <p className="notice" role="status">
              Your password is changed. Sign in with it now.
            </p>
            <Link to="/login" className="button primary block">
              Sign in
            </Link>
          </>
        ) : (
          <form onSubmit={onSubmit} noValidate>
            <Field label="New password" hint={`At least ${MIN_PASSWORD_LENGTH} characters.`} error={nextError}>
              {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />}
            </Field>
            <Field label="Repeat it" error={confirmError}>
              {(p) => (
                <input {...p} type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
              )}
            </Field>
            {routeMissing(error) ? (
              <p className="notice" role="alert">
                This server does not offer password reset links yet. Ask an administrator to set a new password for
                you.
              </p>
            ) : (
              error && <ErrorBox error={error} compact />
            )}
            <button type="submit" className="button primary block" disabled={pending}>
              {pending ? 'Saving…' : 'Set the new password'}
            </button>
          </form>
        )}
      </main>
    </div>
  );
}
