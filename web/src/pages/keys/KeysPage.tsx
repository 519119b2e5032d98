// SSH keys: the public keys nodes install for your allocations. List, add
// (name + the .pub line, with the API's validation errors shown on the field
// they concern) and delete with a confirmation.
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { Page as ListPage, SSHKey } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { DataTable, type Column } from '../../components/DataTable';
import { ApiFieldError, ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { fieldOfError, keyComment, precheckKey, precheckName } from '../../features/user/sshKeys';
import { formatDateTime } from '../../lib/format';
import '../../features/user/user.css';

export function KeysPage() {
  const pager = useCursorPager();
  const keys = useGet('/api/v1/ssh-keys', { query: { cursor: pager.cursor, page_size: 50 } });
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<SSHKey | null>(null);
  const toast = useToast();
  const del = useMutate(
    (k: SSHKey) => api.delete('/api/v1/ssh-keys/{key_id}', { path: { key_id: k.id } }).then(() => true),
    {
      invalidates: ['/api/v1/ssh-keys'],
      // The row goes at once; a refused delete puts it back.
      optimistic: (qc, k) => {
        const snapshot = qc.getQueriesData<ListPage<SSHKey>>({ queryKey: ['/api/v1/ssh-keys'] });
        for (const [key, page] of snapshot) {
          if (page) qc.setQueryData(key, { ...page, items: page.items.filter((x) => x.id !== k.id) });
        }
        return () => snapshot.forEach(([key, page]) => qc.setQueryData(key, page));
      },
    },
  );

  const columns: Column<SSHKey>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (k) => (
        <div className="cell-stack">
          <strong>{k.name}</strong>
          <span className="muted">
            {k.key_type} · {k.bits} bits
          </span>
        </div>
      ),
    },
    {
      key: 'fingerprint',
      header: 'Fingerprint',
      render: (k) => (
        <span className="fingerprint">
          <code>{k.fingerprint}</code>
        </span>
      ),
    },
    { key: 'added', header: 'Added', hideOnMobile: true, render: (k) => formatDateTime(k.created_at) },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      align: 'right',
      render: (k) => (
        <div className="key-actions">
          <CopyButton text={k.public_key} label={`Copy the public key ${k.name}`} small />
          <button
            type="button"
            className="button small danger-ghost"
            onClick={() => {
              del.reset();
              setDeleting(k);
            }}
            aria-label={`Delete ${k.name}`}
          >
            Delete
          </button>
        </div>
      ),
    },
  ];

  return (
    <Page
      title="SSH keys"
      subtitle="Public keys installed for your login on every node you allocate."
      actions={
        <button type="button" className="button primary" onClick={() => setAdding(true)}>
          Add key
        </button>
      }
    >
      <StateView
        state={keys}
        isEmpty={(d) => d.items.length === 0 && !pager.canBack}
        empty={
          <Empty
            title="No SSH keys yet"
            hint="Add the public key of each computer you connect from. The browser terminal works without one."
            action={
              <button type="button" className="button primary" onClick={() => setAdding(true)}>
                Add your first key
              </button>
            }
          />
        }
        loadingLabel="Loading your keys…"
      >
        {(d) => (
          <>
            <DataTable caption="Your SSH keys" columns={columns} rows={d.items} rowKey={(k) => k.id} />
            <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={keys.loading} />
            <p className="muted fine-print">
              {d.items.length} of at most 32 keys. A key you add or delete reaches your running allocations within
              seconds.
            </p>
          </>
        )}
      </StateView>
      {adding && (
        <AddKeyDialog
          onClose={() => setAdding(false)}
          onAdded={(k) => {
            setAdding(false);
            toast({ tone: 'success', title: 'Key added', message: k.name });
          }}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this SSH key?"
        message={
          deleting && (
            <>
              <strong>{deleting.name}</strong> (<code>{deleting.fingerprint}</code>) is removed from your running
              allocations within seconds; logins already open stay.
            </>
          )
        }
        confirmLabel="Delete key"
        danger
        pending={del.pending}
        error={del.error}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          if (await del.run(deleting)) {
            toast({ tone: 'success', title: 'Key deleted', message: deleting.name });
            setDeleting(null);
          }
        }}
      />
    </Page>
  );
}

function AddKeyDialog({ onClose, onAdded }: { onClose: () => void; onAdded: (k: SSHKey) => void }) {
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [touched, setTouched] = useState(false);
  const add = useMutate(() => api.post('/api/v1/ssh-keys', { body: { name: name.trim(), public_key: publicKey.trim() } }), {
    invalidates: ['/api/v1/ssh-keys'],
  });
  const formId = 'add-ssh-key-form';

  const nameHint = touched ? precheckName(name) : undefined;
  const keyHint = touched ? precheckKey(publicKey) : undefined;
  const apiField = add.error ? fieldOfError(add.error) : null;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (precheckName(name) || precheckKey(publicKey) || add.pending) return;
    const k = await add.run();
    if (k) onAdded(k);
  };

  return (
    <Modal
      open
      title="Add an SSH key"
      onClose={onClose}
      dismissable={!add.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={add.pending}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button primary" disabled={add.pending}>
            {add.pending ? 'Adding…' : 'Add key'}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={onSubmit} noValidate>
        <Field
          label="Public key"
          hint="One line of your .pub file, e.g. the output of: cat ~/.ssh/id_ed25519.pub"
          error={apiField === 'public_key' && add.error ? <ApiFieldError error={add.error} /> : keyHint}
        >
          {(p) => (
            <textarea
              {...p}
              value={publicKey}
              rows={4}
              spellCheck={false}
              autoComplete="off"
              placeholder="ssh-ed25519 AAAAC3Nza… you@laptop"
              onChange={(e) => {
                setPublicKey(e.target.value);
                if (!name) {
                  const c = keyComment(e.target.value);
                  if (c) setName(c);
                }
                add.reset();
              }}
            />
          )}
        </Field>
        <Field
          label="Name"
          hint="To recognise it later; 1 to 64 characters."
          error={apiField === 'name' && add.error ? <ApiFieldError error={add.error} /> : nameHint}
        >
          {(p) => (
            <input
              {...p}
              value={name}
              maxLength={80}
              autoComplete="off"
              placeholder="laptop"
              onChange={(e) => {
                setName(e.target.value);
                add.reset();
              }}
            />
          )}
        </Field>
        {add.error && apiField === null && <ErrorBox error={add.error} compact />}
      </form>
    </Modal>
  );
}
