// Your account: who you are, a password change (the server's policy errors
// on the field they concern; other sessions are signed out), and sign out.
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutate } from '../../api/query';
import { useAuth, useUser } from '../../app/auth';
import { ApiFieldError, ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Card, Page } from '../../components/Page';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import { MIN_PASSWORD_LENGTH, changePassword, checkPasswordForm } from '../../features/user/password';
import { formatDateTime } from '../../lib/format';
import '../../features/user/user.css';

export function ProfilePage() {
  const user = useUser();
  const { logout } = useAuth();
  const navigate = useNavigate();
  const [signingOut, setSigningOut] = useState(false);

  return (
    <Page title="Profile" subtitle="Your account and how you sign in.">
      <div className="split-cards">
        <Card title="Account">
          <div className="profile-head">
            <span className="avatar avatar-large" aria-hidden="true">
              {user.username.slice(0, 1).toUpperCase()}
            </span>
            <div>
              <strong className="profile-name">{user.username}</strong>
              <div className="muted">{user.email}</div>
            </div>
          </div>
          <dl className="facts">
            <div>
              <dt>Role</dt>
              <dd>
                <StatusPill status={user.role} label={user.role === 'admin' ? 'Administrator' : 'User'} />
              </dd>
            </div>
            <div>
              <dt>Member since</dt>
              <dd>{formatDateTime(user.created_at)}</dd>
            </div>
            <div>
              <dt>User id</dt>
              <dd className="mono">{user.id}</dd>
            </div>
          </dl>
        </Card>
        <Card title="Session">
          <p className="muted">
            You stay signed in in this browser until you sign out or stay away for the session’s lifetime. Signing out
            revokes this session on the server.
          </p>
          <button
            type="button"
            className="button"
            disabled={signingOut}
            onClick={async () => {
              setSigningOut(true);
              await logout();
              navigate('/login', { replace: true });
            }}
          >
            {signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </Card>
      </div>
      <PasswordCard />
    </Page>
  );
}

function PasswordCard() {
  const user = useUser();
  const toast = useToast();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const change = useMutate(async () => {
    await changePassword(current, next);
    return true;
  });
  const local = submitted ? checkPasswordForm({ current, next, confirm }) : {};
  const err = change.error;
  const currentError =
    local.current ??
    (err?.code === 'invalid_credentials' ? (
      <ApiFieldError error={err} message="The current password is wrong." />
    ) : undefined);
  const nextError = local.next ?? (err?.code === 'weak_password' ? <ApiFieldError error={err} /> : undefined);
  const otherError = err && err.code !== 'invalid_credentials' && err.code !== 'weak_password' ? err : undefined;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    const problems = checkPasswordForm({ current, next, confirm });
    if (Object.keys(problems).length > 0 || change.pending) return;
    if (await change.run()) {
      setCurrent('');
      setNext('');
      setConfirm('');
      setSubmitted(false);
      toast({ tone: 'success', title: 'Password changed', message: 'Your other sessions were signed out.' });
    }
  };

  return (
    <Card title="Change password">
      <form className="password-form" onSubmit={onSubmit} noValidate>
        {/* For password managers: which account this form belongs to. */}
        <input type="text" name="username" autoComplete="username" value={user.username} readOnly hidden />
        <Field label="Current password" error={currentError}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => {
                setCurrent(e.target.value);
                change.reset();
              }}
            />
          )}
        </Field>
        <Field
          label="New password"
          hint={`At least ${MIN_PASSWORD_LENGTH} characters; not a common password and not your username.`}
          error={nextError}
        >
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={(e) => {
                setNext(e.target.value);
                change.reset();
              }}
            />
          )}
        </Field>
        <Field label="Repeat the new password" error={local.confirm}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
            />
          )}
        </Field>
        {otherError && <ErrorBox error={otherError} compact />}
        <button type="submit" className="button primary" disabled={change.pending}>
          {change.pending ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </Card>
  );
}
