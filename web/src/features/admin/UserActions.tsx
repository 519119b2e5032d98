// An administrator's controls on one account (issue 11, item 6): suspend or
// unsuspend, change role or email, issue a one-time password reset link, and
// delete. Written against the contract:
//
//   POST   /api/v1/admin/users/{id}/suspend {reason, release_allocations}
//   POST   /api/v1/admin/users/{id}/unsuspend
//   PATCH  /api/v1/admin/users/{id} {role?, email?}
//   POST   /api/v1/admin/users/{id}/password-reset → {url, expires_at}
//   DELETE /api/v1/admin/users/{id}  (409 user_has_allocations / user_has_balance)
//
// An older server without a route (routeMissing) gets "this server does not
// offer this action yet" instead of an obscure failure.
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../api/client';
import { routeMissing, type ApiError } from '../../api/errors';
import { useMutate } from '../../api/query';
import type { Role, User } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Card } from '../../components/Page';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../lib/format';

const REASON_MAX = 500;

/** The user's suspension (suspended_at, suspension_reason), or null. */
export function suspension(u: User): { since: string; reason: string } | null {
  return u.suspended_at ? { since: u.suspended_at, reason: u.suspension_reason ?? '' } : null;
}

function ActionError({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  if (routeMissing(error)) {
    return (
      <p className="field-error" role="alert">
        This server does not offer this action yet.
      </p>
    );
  }
  return <ErrorBox error={error} compact />;
}

export function UserActions({ u }: { u: User }) {
  const toast = useToast();
  const navigate = useNavigate();
  const path = { user_id: u.id };
  const stale = ['/api/v1/admin'];
  const [dialog, setDialog] = useState<'suspend' | 'unsuspend' | 'edit' | 'reset' | 'delete' | null>(null);
  const suspended = suspension(u);

  const [reason, setReason] = useState('');
  const [release, setRelease] = useState(false);
  const suspend = useMutate(
    () =>
      api
        .post('/api/v1/admin/users/{user_id}/suspend', { path, body: { reason: reason.trim(), release_allocations: release } })
        .then(() => true),
    { invalidates: stale },
  );
  const unsuspend = useMutate(() => api.post('/api/v1/admin/users/{user_id}/unsuspend', { path }).then(() => true), {
    invalidates: stale,
  });

  const [email, setEmail] = useState(u.email);
  const [role, setRole] = useState<Role>(u.role);
  const edit = useMutate(
    () => {
      const body: { email?: string; role?: Role } = {};
      if (email.trim() !== u.email) body.email = email.trim();
      if (role !== u.role) body.role = role;
      return api.patch('/api/v1/admin/users/{user_id}', { path, body }).then(() => true);
    },
    { invalidates: stale },
  );

  const reset = useMutate(() => api.post('/api/v1/admin/users/{user_id}/password-reset', { path }), {
    invalidates: ['/api/v1/admin/audit-logs'],
  });
  const del = useMutate(() => api.delete('/api/v1/admin/users/{user_id}', { path }).then(() => true), { invalidates: stale });
  const [link, setLink] = useState<{ url: string; expires_at: string } | null>(null);

  const close = () => {
    setDialog(null);
    suspend.reset();
    unsuspend.reset();
    edit.reset();
    reset.reset();
    del.reset();
  };
  const open = (d: NonNullable<typeof dialog>) => {
    close();
    if (d === 'suspend') {
      setReason('');
      setRelease(false);
    }
    if (d === 'edit') {
      setEmail(u.email);
      setRole(u.role);
    }
    setDialog(d);
    if (d === 'reset') setLink(null);
  };

  const resetLink = link ? new URL(link.url, window.location.origin).toString() : null;
  const changed = email.trim() !== u.email || role !== u.role;

  return (
    <Card title="Account" className="span-2">
      <div className="user-actions" data-testid="user-actions">
        {!suspended && (
          <button type="button" className="button" onClick={() => open('suspend')}>
            Suspend…
          </button>
        )}
        {suspended && (
          <button type="button" className="button" onClick={() => open('unsuspend')}>
            Unsuspend…
          </button>
        )}
        <button type="button" className="button" onClick={() => open('edit')}>
          Change role or email…
        </button>
        <button type="button" className="button" onClick={() => open('reset')}>
          Password reset link…
        </button>
        <button type="button" className="button danger" onClick={() => open('delete')}>
          Delete user…
        </button>
      </div>
      {suspended && (
        <p className="notice notice-warning" data-testid="suspended-note">
          Suspended since {formatDateTime(suspended.since)}
          {suspended.reason ? `: ${suspended.reason}` : ''}. The account cannot sign in or create, and its tokens are
          refused.
        </p>
      )}

      <ConfirmDialog
        open={dialog === 'suspend'}
        title={`Suspend ${u.username}?`}
        message="They cannot sign in or create allocations, and every token they hold stops working within seconds."
        confirmLabel="Suspend"
        danger
        pending={suspend.pending}
        confirmDisabled={reason.trim() === '' || reason.length > REASON_MAX}
        onCancel={close}
        onConfirm={async () => {
          if (await suspend.run()) {
            toast({ tone: 'success', title: `${u.username} is suspended`, message: reason.trim() });
            close();
          }
        }}
      >
        <Field label="Reason" hint="Kept in the audit log.">
          {(p) => <textarea {...p} rows={2} value={reason} maxLength={REASON_MAX} onChange={(e) => setReason(e.target.value)} />}
        </Field>
        <label className="admin-checkbox">
          <input type="checkbox" checked={release} onChange={(e) => setRelease(e.target.checked)} /> Also release their
          running allocations (otherwise they keep running, and billing)
        </label>
        <ActionError error={suspend.error} />
      </ConfirmDialog>

      <ConfirmDialog
        open={dialog === 'unsuspend'}
        title={`Unsuspend ${u.username}?`}
        message="They can sign in and create allocations again."
        confirmLabel="Unsuspend"
        pending={unsuspend.pending}
        onCancel={close}
        onConfirm={async () => {
          if (await unsuspend.run()) {
            toast({ tone: 'success', title: `${u.username} can sign in again` });
            close();
          }
        }}
      >
        <ActionError error={unsuspend.error} />
      </ConfirmDialog>

      {dialog === 'edit' && (
        <Modal
          open
          title={`Change ${u.username}`}
          onClose={close}
          size="small"
          footer={
            <>
              <button type="button" className="button" onClick={close}>
                Cancel
              </button>
              <button type="submit" form="user-edit-form" className="button primary" disabled={!changed || edit.pending}>
                {edit.pending ? 'Saving…' : 'Save'}
              </button>
            </>
          }
        >
          <form
            id="user-edit-form"
            noValidate
            onSubmit={async (e: FormEvent) => {
              e.preventDefault();
              if (!changed) return;
              if (await edit.run()) {
                toast({ tone: 'success', title: 'Account changed', message: u.username });
                close();
              }
            }}
          >
            <Field label="Email">
              {(p) => <input {...p} type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />}
            </Field>
            <Field label="Role" hint="Admins can see and change every account and node.">
              {(p) => (
                <select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                  <option value="user">user</option>
                  <option value="admin">admin</option>
                </select>
              )}
            </Field>
            <ActionError error={edit.error} />
          </form>
        </Modal>
      )}

      {dialog === 'reset' && (
        <Modal
          open
          title={`Password reset link for ${u.username}`}
          onClose={close}
          size="medium"
          footer={
            link ? (
              <button type="button" className="button" onClick={close}>
                Done
              </button>
            ) : (
              <>
                <button type="button" className="button" onClick={close} disabled={reset.pending}>
                  Cancel
                </button>
                <button
                  type="button"
                  className="button primary"
                  disabled={reset.pending}
                  onClick={async () => {
                    const r = await reset.run();
                    if (r) setLink(r);
                  }}
                >
                  {reset.pending ? 'Issuing…' : 'Issue link'}
                </button>
              </>
            )
          }
        >
          {!link && (
            <p>
              A one-time link lets {u.username} choose a new password, within an hour. Issuing one makes any earlier
              link stop working.
            </p>
          )}
          <ActionError error={reset.error} />
          {resetLink && link && (
            <div className="reset-link" data-testid="reset-link">
              <p>
                Give this link to {u.username}. It works once, until {formatDateTime(link.expires_at)}.
              </p>
              <div className="secret-line">
                <code>{resetLink}</code>
                <CopyButton text={resetLink} label="Copy the reset link" small />
              </div>
            </div>
          )}
        </Modal>
      )}

      <ConfirmDialog
        open={dialog === 'delete'}
        title={`Delete ${u.username}?`}
        message="Their personal data is removed; the ledger is kept. Refused while they hold allocations or a balance."
        confirmLabel="Delete user"
        danger
        pending={del.pending}
        onCancel={close}
        onConfirm={async () => {
          if (await del.run()) {
            toast({ tone: 'success', title: 'User deleted', message: u.username });
            close();
            navigate('/admin/users');
          }
        }}
      >
        <ActionError error={del.error} />
      </ConfirmDialog>
    </Card>
  );
}
