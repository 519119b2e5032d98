// One team: its name (owners rename it), its members with their roles, and
// for owners a form to add people by username, a role switch and removal.
// A member may leave. The last owner can neither leave nor step down; the
// server says so (409 last_owner) and the message shows here.
import { useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { TeamMember, TeamRole } from '../../api/types';
import { setAccount, useAccount } from '../../app/account';
import { useUser } from '../../app/auth';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../lib/format';
import '../../features/user/user.css';

export function TeamPage() {
  const { slug = '' } = useParams();
  const me = useUser();
  const team = useGet('/api/v1/teams/{slug}', { path: { slug } });
  const { team: acting } = useAccount();
  const toast = useToast();
  const navigate = useNavigate();
  const isOwner = team.data?.role === 'owner';
  const [removing, setRemoving] = useState<TeamMember | null>(null);
  const invalidates = ['/api/v1/teams'];
  const setRole = useMutate(
    (m: TeamMember, role: TeamRole) =>
      api.patch('/api/v1/teams/{slug}/members/{username}', { path: { slug, username: m.username }, body: { role } }),
    { invalidates },
  );
  const remove = useMutate(
    (m: TeamMember) =>
      api.delete('/api/v1/teams/{slug}/members/{username}', { path: { slug, username: m.username } }).then(() => true),
    { invalidates },
  );

  const columns: Column<TeamMember>[] = [
    {
      key: 'who',
      header: 'Member',
      render: (m) => (
        <span>
          {m.username}
          {m.user_id === me.id && <span className="muted"> (you)</span>}
        </span>
      ),
    },
    {
      key: 'role',
      header: 'Role',
      render: (m) =>
        isOwner ? (
          <select
            aria-label={`Role of ${m.username}`}
            value={m.role}
            disabled={setRole.pending}
            onChange={async (e) => {
              if (await setRole.run(m, e.target.value as TeamRole)) {
                toast({ tone: 'success', title: 'Role changed', message: `${m.username} is now ${e.target.value}` });
              }
            }}
          >
            <option value="owner">Owner</option>
            <option value="member">Member</option>
          </select>
        ) : m.role === 'owner' ? (
          'Owner'
        ) : (
          'Member'
        ),
    },
    { key: 'joined', header: 'Joined', hideOnMobile: true, render: (m) => formatDateTime(m.joined_at) },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      align: 'right',
      render: (m) =>
        isOwner || m.user_id === me.id ? (
          <button
            type="button"
            className="button small danger-ghost"
            onClick={() => {
              remove.reset();
              setRemoving(m);
            }}
          >
            {m.user_id === me.id ? 'Leave' : 'Remove'}
          </button>
        ) : null,
    },
  ];

  return (
    <Page title={team.data?.name ?? 'Team'} subtitle={team.data ? `Slug ${team.data.slug} · ${team.data.member_count} members` : undefined}>
      <StateView state={team} loadingLabel="Loading the team…">
        {(t) => (
          <>
            {acting !== t.slug && (
              <p>
                <button type="button" className="button" onClick={() => setAccount(t.slug)} data-testid="act-for-team">
                  Act for {t.name}
                </button>{' '}
                <span className="muted">Its balance pays for what you launch while you act for it.</span>
              </p>
            )}
            {setRole.error && <ErrorBox error={setRole.error} compact />}
            <DataTable caption="Members" columns={columns} rows={t.members ?? []} rowKey={(m) => m.user_id} />
            {isOwner && <RenameForm slug={t.slug} name={t.name} />}
            {isOwner && <AddMemberForm slug={t.slug} />}
          </>
        )}
      </StateView>
      <ConfirmDialog
        open={removing !== null}
        title={removing?.user_id === me.id ? 'Leave this team?' : 'Remove this member?'}
        message={
          removing &&
          (removing.user_id === me.id ? (
            <>You lose access to the team's allocations, balance and storage at once.</>
          ) : (
            <>
              <strong>{removing.username}</strong> loses access to the team's allocations, balance and storage at once,
              and their SSH keys are taken off its running allocations.
            </>
          ))
        }
        confirmLabel={removing?.user_id === me.id ? 'Leave team' : 'Remove member'}
        danger
        pending={remove.pending}
        error={remove.error}
        onCancel={() => setRemoving(null)}
        onConfirm={async () => {
          if (!removing) return;
          if (await remove.run(removing)) {
            const self = removing.user_id === me.id;
            toast({ tone: 'success', title: self ? 'You left the team' : 'Member removed', message: removing.username });
            setRemoving(null);
            if (self) {
              if (acting === slug) setAccount('');
              navigate('/teams');
            }
          }
        }}
      />
    </Page>
  );
}

function RenameForm({ slug, name }: { slug: string; name: string }) {
  const [value, setValue] = useState(name);
  const toast = useToast();
  const rename = useMutate(() => api.patch('/api/v1/teams/{slug}', { path: { slug }, body: { name: value.trim() } }), {
    invalidates: ['/api/v1/teams'],
  });
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (!value.trim() || rename.pending) return;
    if (await rename.run()) toast({ tone: 'success', title: 'Team renamed', message: value.trim() });
  };
  return (
    <form className="inline-form" onSubmit={onSubmit} noValidate>
      <h2 className="card-title">Settings</h2>
      <Field label="Name" error={!value.trim() ? 'Give the team a name.' : undefined}>
        {(p) => <input {...p} value={value} maxLength={100} onChange={(e) => setValue(e.target.value)} />}
      </Field>
      <button type="submit" className="button" disabled={rename.pending || value.trim() === name}>
        {rename.pending ? 'Saving…' : 'Save name'}
      </button>
      {rename.error && <ErrorBox error={rename.error} compact />}
    </form>
  );
}

function AddMemberForm({ slug }: { slug: string }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<TeamRole>('member');
  const toast = useToast();
  const add = useMutate(
    () => api.post('/api/v1/teams/{slug}/members', { path: { slug }, body: { username: username.trim(), role } }),
    { invalidates: ['/api/v1/teams'] },
  );
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || add.pending) return;
    const m = await add.run();
    if (m) {
      toast({ tone: 'success', title: 'Member added', message: m.username });
      setUsername('');
    }
  };
  const error =
    add.error?.status === 404
      ? 'No user has this username.'
      : add.error?.code === 'already_member'
        ? 'They are already in the team.'
        : undefined;
  return (
    <form className="inline-form" onSubmit={onSubmit} noValidate data-testid="add-member-form">
      <h2 className="card-title">Add a member</h2>
      <Field label="Username" error={error}>
        {(p) => (
          <input
            {...p}
            value={username}
            autoComplete="off"
            onChange={(e) => {
              setUsername(e.target.value);
              add.reset();
            }}
            data-testid="member-username"
          />
        )}
      </Field>
      <Field label="Role">
        {(p) => (
          <select {...p} value={role} onChange={(e) => setRole(e.target.value as TeamRole)}>
            <option value="member">Member: uses the balance, allocations and storage</option>
            <option value="owner">Owner: also manages the team</option>
          </select>
        )}
      </Field>
      <button type="submit" className="button primary" disabled={add.pending}>
        {add.pending ? 'Adding…' : 'Add member'}
      </button>
      {add.error && !error && <ErrorBox error={add.error} compact />}
    </form>
  );
}
