// API tokens: for scripts and the CLI (`gpuaas login --token`). Create one
// with a name, an expiry and scopes, and see its secret once, with a copy
// button; list them with when and from where each was last used; revoke one
// with a confirmation.
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { APIToken, APITokenScope, CreatedAPIToken } from '../../api/types';
import { useAuth } from '../../app/auth';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Page } from '../../components/Page';
import { Empty, StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../lib/format';
import '../../features/user/user.css';

const LIST = '/api/v1/users/me/tokens';

export const SCOPES: { scope: APITokenScope; label: string; hint: string; adminOnly?: boolean }[] = [
  { scope: 'read', label: 'Read', hint: 'Everything you can see, except billing and admin pages.' },
  { scope: 'allocations', label: 'Allocations', hint: 'Create, read and release allocations; terminals, SSH, apps, logs, SSH keys and storage.' },
  { scope: 'billing', label: 'Billing', hint: 'Balance and usage.' },
  { scope: 'admin', label: 'Admin', hint: 'The admin routes, while you are an admin.', adminOnly: true },
];

const EXPIRIES = [7, 30, 90, 365];

export function TokensPage() {
  const tokens = useGet(LIST, {});
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<APIToken | null>(null);
  const toast = useToast();
  const revoke = useMutate(
    (t: APIToken) => api.delete('/api/v1/users/me/tokens/{token_id}', { path: { token_id: t.id } }).then(() => true),
    { invalidates: [LIST] },
  );

  const columns: Column<APIToken>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (t) => (
        <div className="cell-stack">
          <strong>{t.name}</strong>
          <span className="muted">{t.scopes.join(', ')}</span>
        </div>
      ),
    },
    {
      key: 'used',
      header: 'Last used',
      render: (t) =>
        t.last_used_at ? (
          <div className="cell-stack">
            <span>{formatDateTime(t.last_used_at)}</span>
            {t.last_used_ip && <span className="muted">from {t.last_used_ip}</span>}
          </div>
        ) : (
          <span className="muted">Never</span>
        ),
    },
    {
      key: 'expires',
      header: 'Expires',
      hideOnMobile: true,
      render: (t) =>
        new Date(t.expires_at) <= new Date() ? (
          <span className="text-warning">Expired {formatDateTime(t.expires_at)}</span>
        ) : (
          formatDateTime(t.expires_at)
        ),
    },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      align: 'right',
      render: (t) => (
        <button
          type="button"
          className="button small danger-ghost"
          onClick={() => {
            revoke.reset();
            setRevoking(t);
          }}
          aria-label={`Revoke ${t.name}`}
        >
          Revoke
        </button>
      ),
    },
  ];

  return (
    <Page
      title="API tokens"
      subtitle="For scripts and the CLI: a token acts as you, limited to its scopes."
      actions={
        <button type="button" className="button primary" onClick={() => setCreating(true)}>
          Create token
        </button>
      }
    >
      <StateView
        state={tokens}
        isEmpty={(d) => d.items.length === 0}
        empty={
          <Empty
            title="No API tokens yet"
            hint="Create one for a script, or sign the CLI in with: gpuaas login --token"
            action={
              <button type="button" className="button primary" onClick={() => setCreating(true)}>
                Create your first token
              </button>
            }
          />
        }
        loadingLabel="Loading your tokens…"
      >
        {(d) => (
          <>
            <DataTable caption="Your API tokens" columns={columns} rows={d.items} rowKey={(t) => t.id} />
            <p className="muted fine-print">
              {d.items.length} of at most 50 tokens. The last use is recorded at most once a minute. A revoked token stops
              working at once.
            </p>
          </>
        )}
      </StateView>
      {creating && <CreateTokenDialog onClose={() => setCreating(false)} />}
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this API token?"
        message={
          revoking && (
            <>
              <strong>{revoking.name}</strong> stops working at once, for every script and CLI that uses it. This cannot
              be undone.
            </>
          )
        }
        confirmLabel="Revoke token"
        danger
        pending={revoke.pending}
        error={revoke.error}
        onCancel={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          if (await revoke.run(revoking)) {
            toast({ tone: 'success', title: 'Token revoked', message: revoking.name });
            setRevoking(null);
          }
        }}
      />
    </Page>
  );
}

function CreateTokenDialog({ onClose }: { onClose: () => void }) {
  const { isAdmin } = useAuth();
  const [name, setName] = useState('');
  const [days, setDays] = useState(90);
  const [scopes, setScopes] = useState<APITokenScope[]>(['read']);
  const [touched, setTouched] = useState(false);
  const [created, setCreated] = useState<CreatedAPIToken | null>(null);
  const create = useMutate(
    () =>
      api.post(LIST, {
        body: { name: name.trim(), scopes, expires_at: new Date(Date.now() + days * 86400_000).toISOString() },
      }),
    { invalidates: [LIST] },
  );
  const formId = 'create-api-token-form';
  const nameHint = touched && !name.trim() ? 'Give the token a name.' : undefined;
  const scopeHint = touched && scopes.length === 0 ? 'Choose at least one scope.' : undefined;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!name.trim() || scopes.length === 0 || create.pending) return;
    const t = await create.run();
    if (t) setCreated(t);
  };

  if (created) {
    return (
      <Modal
        open
        title="Copy your new token"
        onClose={onClose}
        footer={
          <button type="button" className="button primary" onClick={onClose}>
            Done
          </button>
        }
      >
        <p role="status">
          <strong>{created.name}</strong> is ready. Copy it now: it is not shown again.
        </p>
        <div className="secret-line">
          <code data-testid="token-secret">{created.token}</code>
          <CopyButton text={created.token} label="Copy the token" />
        </div>
        <p className="muted fine-print">
          Sign the CLI in with it: <code>gpuaas login --token</code> and paste it, or set <code>GPUAAS_TOKEN</code>.
        </p>
      </Modal>
    );
  }

  return (
    <Modal
      open
      title="Create an API token"
      onClose={onClose}
      dismissable={!create.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={create.pending}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button primary" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create token'}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={onSubmit} noValidate>
        <Field label="Name" hint="What uses it, e.g. nightly-training; 1 to 64 characters." error={nameHint}>
          {(p) => (
            <input
              {...p}
              value={name}
              maxLength={64}
              autoComplete="off"
              onChange={(e) => {
                setName(e.target.value);
                create.reset();
              }}
            />
          )}
        </Field>
        <Field label="Expires after">
          {(p) => (
            <select {...p} value={days} onChange={(e) => setDays(Number(e.target.value))}>
              {EXPIRIES.map((d) => (
                <option key={d} value={d}>
                  {d} days
                </option>
              ))}
            </select>
          )}
        </Field>
        <fieldset className="key-choice" aria-describedby={scopeHint ? 'token-scope-error' : undefined}>
          <legend>Scopes</legend>
          {SCOPES.filter((s) => isAdmin || !s.adminOnly).map((s) => (
            <label key={s.scope} className="key-choice-item">
              <input
                type="checkbox"
                checked={scopes.includes(s.scope)}
                onChange={(e) => {
                  setScopes((cur) => (e.target.checked ? [...cur, s.scope] : cur.filter((x) => x !== s.scope)));
                  create.reset();
                }}
              />
              <span>
                <strong>{s.label}</strong> <span className="muted">{s.hint}</span>
              </span>
            </label>
          ))}
          {scopeHint && (
            <p id="token-scope-error" className="field-error">
              {scopeHint}
            </p>
          )}
        </fieldset>
        {create.error && <ErrorBox error={create.error} compact />}
      </form>
    </Modal>
  );
}
