// Every account. The API pages users newest first and filters them before it
// pages: search (a substring of the username or email) and role live in the
// URL and go to the API; a new filter starts again at the first page.
// "New user" opens the create dialog; a row opens the user's detail.
import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../api/client';
import { describeError, type ApiError } from '../../api/errors';
import { useGet, useMutate } from '../../api/query';
import type { Role, User } from '../../api/types';
import { DataTable, type Column } from '../../components/DataTable';
import { FilterBar, SearchFilter, SelectFilter } from '../../components/Filters';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import {
  SEARCH_MAX,
  filterKey,
  listCount,
  searchParam,
  useSearchBox,
  useUrlFilters,
} from '../../features/admin/filters';
import { formatDateTime, formatRelative } from '../../lib/format';
import { suspension } from '../../features/admin/UserActions';
import '../../features/admin/admin.css';

const columns: Column<User>[] = [
  {
    key: 'username',
    header: 'User',
    render: (u) => (
      <div className="cell-stack">
        <strong>
          {u.username}
          {suspension(u) && (
            <>
              {' '}
              <StatusPill status="suspended" label="suspended" tone="warning" />
            </>
          )}
        </strong>
        <span className="muted">{u.email}</span>
      </div>
    ),
  },
  { key: 'role', header: 'Role', render: (u) => <StatusPill status={u.role} /> },
  { key: 'id', header: 'ID', render: (u) => <code className="id">{u.id}</code>, hideOnMobile: true },
  {
    key: 'created',
    header: 'Joined',
    render: (u) => <time dateTime={u.created_at} title={formatDateTime(u.created_at)}>{formatRelative(u.created_at)}</time>,
    hideOnMobile: true,
  },
];

const FILTERS = ['q', 'role'] as const;

export function UsersPage() {
  const navigate = useNavigate();
  const [f, setF] = useUrlFilters(FILTERS);
  const [search, setSearch] = useSearchBox(f.q, (text) => setF({ q: text }));
  const pager = useCursorPager();
  const [creating, setCreating] = useState(false);
  const query = { q: searchParam(f.q), role: (f.role || undefined) as Role | undefined };
  const key = filterKey({ q: query.q ?? '', role: f.role });
  const { reset } = pager;
  useEffect(() => reset(), [key, reset]);
  const q = useGet('/api/v1/admin/users', { query: { ...query, cursor: pager.cursor } });
  const filtered = Boolean(query.q || query.role);
  const clear = () => {
    setSearch('');
    setF({ q: '', role: '' });
  };

  return (
    <Page
      title="Users"
      subtitle="Every account on the platform."
      actions={
        <button type="button" className="button primary" onClick={() => setCreating(true)}>
          New user
        </button>
      }
    >
      <FilterBar label="Filter users">
        <SearchFilter id="users-q" placeholder="Username or email" maxLength={SEARCH_MAX} value={search} onChange={setSearch} />
        <SelectFilter id="users-role" label="Role" value={f.role} onChange={(v) => setF({ role: v })}>
          <option value="">All roles</option>
          <option value="user">User</option>
          <option value="admin">Admin</option>
        </SelectFilter>
      </FilterBar>
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0 && !filtered}
        empty={<Empty title="No users yet" hint="Create the first account with New user." />}
      >
        {(d) => (
          <div className="list-block">
            <p className="list-count" aria-live="polite">
              {listCount(d.items.length, 'user', filtered, Boolean(d.next_cursor) || pager.canBack)}
            </p>
            {d.items.length === 0 ? (
              <Empty
                title="No user matches"
                hint="No username or email contains the search, with that role."
                action={
                  <button type="button" className="button" onClick={clear}>
                    Clear filters
                  </button>
                }
              />
            ) : (
              <DataTable
                caption="Users"
                columns={columns}
                rows={d.items}
                rowKey={(u) => u.id}
                onRowClick={(u) => navigate(`/admin/users/${u.id}`)}
                rowLabel={(u) => `Open user ${u.username}`}
              />
            )}
            <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
          </div>
        )}
      </StateView>
      <CreateUserDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(u) => {
          setCreating(false);
          pager.reset();
          void q.reload();
          navigate(`/admin/users/${u.id}`);
        }}
      />
    </Page>
  );
}

/** Which field an API error belongs to, so it shows next to that field. */
export function fieldOfError(err: ApiError | undefined): 'username' | 'email' | 'password' | null {
  if (!err) return null;
  if (err.code === 'username_taken') return 'username';
  if (err.code === 'email_taken') return 'email';
  if (err.code === 'weak_password') return 'password';
  if (err.code === 'invalid_request') {
    const m = err.message.toLowerCase();
    if (m.includes('username')) return 'username';
    if (m.includes('email')) return 'email';
    if (m.includes('password')) return 'password';
  }
  return null;
}

function CreateUserDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (u: User) => void;
}) {
  const toast = useToast();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('user');
  const create = useMutate(() => api.post('/api/v1/admin/users', { body: { username, email, password, role } }), {
    invalidates: ['/api/v1/admin/users', '/api/v1/admin/overview'],
  });
  const field = fieldOfError(create.error);
  const { reset } = create;

  useEffect(() => {
    if (!open) return;
    setUsername('');
    setEmail('');
    setPassword('');
    setRole('user');
    reset();
  }, [open, reset]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const u = await create.run();
    if (u) {
      toast({ tone: 'success', title: `User ${u.username} created` });
      onCreated(u);
    }
  };
  const fieldError = (name: string) => {
    const err = create.error;
    if (field !== name || !err) return undefined;
    const mapped = describeError(err);
    return err.message && err.message !== mapped ? `${mapped} (${err.message})` : mapped;
  };

  return (
    <Modal
      open={open}
      title="New user"
      onClose={onClose}
      dismissable={!create.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={create.pending}>
            Cancel
          </button>
          <button type="submit" form="create-user-form" className="button primary" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create user'}
          </button>
        </>
      }
    >
      <form id="create-user-form" onSubmit={submit} noValidate>
        <Field label="Username" hint="2 to 63 of a–z, 0–9, dot, underscore or dash" error={fieldError('username')}>
          {(p) => (
            <input {...p} value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" required />
          )}
        </Field>
        <Field label="Email" error={fieldError('email')}>
          {(p) => <input {...p} type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />}
        </Field>
        <Field label="Password" hint="At least 12 characters, not a common one" error={fieldError('password')}>
          {(p) => (
            <input
              {...p}
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
              required
            />
          )}
        </Field>
        <Field label="Role">
          {(p) => (
            <select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <option value="user">User</option>
              <option value="admin">Admin</option>
            </select>
          )}
        </Field>
      </form>
      {create.error && !field && <ErrorBox error={create.error} compact />}
      {create.error && field && (
        <p className="muted small-print">
          Correlation id <code>{create.error.correlationId}</code>
        </p>
      )}
    </Modal>
  );
}
