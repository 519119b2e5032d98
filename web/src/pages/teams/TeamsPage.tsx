// Teams: the teams you are in (with your role and how many members each
// has) and a form to create one. A team shares one balance among its
// members; the switcher in the top bar acts for it. See docs/identity.md.
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { useMutate } from '../../api/query';
import type { Team } from '../../api/types';
import { setAccount, useTeams } from '../../app/account';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Page } from '../../components/Page';
import { Empty, StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../lib/format';
import '../../features/user/user.css';

const columns: Column<Team>[] = [
  {
    key: 'name',
    header: 'Team',
    render: (t) => (
      <div className="cell-stack">
        <Link to={`/teams/${t.slug}`}>{t.name}</Link>
        <span className="muted mono">{t.slug}</span>
      </div>
    ),
  },
  { key: 'role', header: 'Your role', render: (t) => (t.role === 'owner' ? 'Owner' : 'Member') },
  { key: 'members', header: 'Members', align: 'right', render: (t) => t.member_count },
  { key: 'created', header: 'Created', hideOnMobile: true, render: (t) => formatDateTime(t.created_at) },
];

export function TeamsPage() {
  const teams = useTeams();
  const [creating, setCreating] = useState(false);
  return (
    <Page
      title="Teams"
      subtitle="A team shares one balance: its members launch, see and release its allocations."
      actions={
        <button type="button" className="button primary" onClick={() => setCreating(true)} data-testid="create-team">
          Create team
        </button>
      }
    >
      <StateView
        state={teams}
        isEmpty={(d) => d.items.length === 0}
        empty={
          <Empty
            title="You are in no team"
            hint="Create one and add people by username; an admin credits its balance."
            action={
              <button type="button" className="button primary" onClick={() => setCreating(true)}>
                Create a team
              </button>
            }
          />
        }
        loadingLabel="Loading your teams…"
      >
        {(d) => <DataTable caption="Your teams" columns={columns} rows={d.items} rowKey={(t) => t.slug} />}
      </StateView>
      {creating && <CreateTeamDialog onClose={() => setCreating(false)} />}
    </Page>
  );
}

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])$/;

function CreateTeamDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [touched, setTouched] = useState(false);
  const navigate = useNavigate();
  const toast = useToast();
  const effectiveSlug = slugEdited
    ? slug
    : name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 39);
  const create = useMutate(() => api.post('/api/v1/teams', { body: { slug: effectiveSlug, name: name.trim() } }), {
    invalidates: ['/api/v1/teams'],
  });
  const nameError = touched && !name.trim() ? 'Give the team a name.' : undefined;
  const slugError =
    touched && !SLUG_RE.test(effectiveSlug)
      ? '2 to 39 characters: lower-case letters, digits and inner hyphens.'
      : create.error?.code === 'slug_taken'
        ? 'A team or a user already has this name. Choose another.'
        : undefined;
  const formId = 'create-team-form';
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!name.trim() || !SLUG_RE.test(effectiveSlug) || create.pending) return;
    const t = await create.run();
    if (t) {
      toast({ tone: 'success', title: 'Team created', message: t.name });
      setAccount(t.slug);
      navigate(`/teams/${t.slug}`);
    }
  };
  return (
    <Modal
      open
      title="Create a team"
      onClose={onClose}
      dismissable={!create.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={create.pending}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button primary" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create team'}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={onSubmit} noValidate>
        <Field label="Name" hint="How members see it, e.g. Vision Lab." error={nameError}>
          {(p) => (
            <input
              {...p}
              value={name}
              maxLength={100}
              autoComplete="off"
              onChange={(e) => {
                setName(e.target.value);
                create.reset();
              }}
              data-testid="team-name"
            />
          )}
        </Field>
        <Field label="Slug" hint="Its short name in links and the CLI; it cannot change later." error={slugError}>
          {(p) => (
            <input
              {...p}
              value={effectiveSlug}
              maxLength={39}
              autoComplete="off"
              onChange={(e) => {
                setSlug(e.target.value.toLowerCase());
                setSlugEdited(true);
                create.reset();
              }}
              data-testid="team-slug"
            />
          )}
        </Field>
        {create.error && create.error.code !== 'slug_taken' && <ErrorBox error={create.error} compact />}
      </form>
    </Modal>
  );
}
