// One user: profile, balance adjustment (an audited credit or debit with a
// reason), the adjustments made so far, their latest allocations, and links
// to everything they did or that was done to them.
//
// The Balance panel reads the user's balance as they see it on their billing
// page (GET /admin/users/{id}/balance); an adjustment answers with the balance
// after it, shown at once, and the panel then reads it again.
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../api/client';
import { routeMissing } from '../../api/errors';
import { useGet, useMutate } from '../../api/query';
import type { User } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { DataTable } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import { parseQuotaGiB, quotaToGiBText } from '../../features/admin/storageQuota';
import { UsageBar } from '../../components/UsageBar';
import { describeAudit } from '../../features/admin/audit';
import { formatBytes, formatDateTime, formatRelative, shortId } from '../../lib/format';
import { UserActions } from '../../features/admin/UserActions';
import { AdjustBalanceCard } from '../../features/admin/AdjustBalanceCard';
import { UserLimitsCard } from '../../features/admin/UserLimits';
import '../../features/admin/admin.css';

export function UserDetailPage() {
  const { id = '' } = useParams();
  const user = useGet('/api/v1/admin/users/{user_id}', { path: { user_id: id } });
  const adjustments = useGet('/api/v1/admin/audit-logs', {
    query: { action: 'billing.adjustment', target_id: id, page_size: 10 },
  });
  const balance = useGet('/api/v1/admin/users/{user_id}/balance', { path: { user_id: id } });
  const name = user.data?.username;

  return (
    <Page
      title={name ?? `User ${shortId(id)}`}
      subtitle={user.data ? user.data.email : undefined}
      breadcrumb={<Link to="/admin/users">Users</Link>}
    >
      <StateView state={user}>
        {(u) => (
          <div className="detail-grid">
            <ProfileCard u={u} />
            <AdjustBalanceCard
              who={u.username}
              balance={balance}
              currencyHint={adjustmentCurrency(adjustments.data?.items)}
              post={(minor, reason, key) =>
                api.post('/api/v1/admin/users/{user_id}/balance', {
                  path: { user_id: u.id },
                  body: { amount_minor: minor, reason },
                  headers: { 'Idempotency-Key': key },
                })
              }
              onAdjusted={(b) => {
                // The cache refetches the balance and the adjustments (useMutate's invalidation).
                balance.setData(b);
              }}
            />
            <Card
              title="Balance adjustments"
              className="span-2"
              actions={
                <Link to={`/admin/audit-logs?action=billing.adjustment&target_id=${u.id}`}>All adjustments</Link>
              }
            >
              <StateView
                state={adjustments}
                isEmpty={(d) => d.items.length === 0}
                empty={<p className="muted">No adjustments yet.</p>}
              >
                {(d) => (
                  <DataTable
                    caption={`Balance adjustments of ${u.username}`}
                    rows={d.items}
                    rowKey={(e) => String(e.id)}
                    columns={[
                      {
                        key: 'when',
                        header: 'When',
                        render: (e) => <time dateTime={e.occurred_at}>{formatDateTime(e.occurred_at)}</time>,
                      },
                      { key: 'what', header: 'Adjustment', render: (e) => describeAudit(e) },
                    ]}
                  />
                )}
              </StateView>
            </Card>
            <RecentAllocations u={u} />
            <StorageQuotaCard u={u} />
            <UserLimitsCard u={u} />
            <UserActions u={u} />
          </div>
        )}
      </StateView>
    </Page>
  );
}

function adjustmentCurrency(items: { metadata: Record<string, unknown> }[] | undefined): string | undefined {
  const c = items?.find((e) => typeof e.metadata.currency === 'string')?.metadata.currency;
  return typeof c === 'string' ? c : undefined;
}

function ProfileCard({ u }: { u: User }) {
  return (
    <Card title="Profile">
      <dl className="kv">
        <div>
          <dt>Username</dt>
          <dd>{u.username}</dd>
        </div>
        <div>
          <dt>Email</dt>
          <dd>{u.email}</dd>
        </div>
        <div>
          <dt>Role</dt>
          <dd>
            <StatusPill status={u.role} />
          </dd>
        </div>
        <div>
          <dt>User id</dt>
          <dd className="kv-id">
            <code>{u.id}</code> <CopyButton text={u.id} label="Copy user id" small />
          </dd>
        </div>
        <div>
          <dt>Joined</dt>
          <dd>{formatDateTime(u.created_at)}</dd>
        </div>
      </dl>
      <div className="link-row">
        <Link className="button small" to={`/admin/allocations?user_id=${u.id}`}>
          Their allocations
        </Link>
        <Link className="button small" to={`/admin/audit-logs?actor_user_id=${u.id}`}>
          Actions by {u.username}
        </Link>
        <Link className="button small" to={`/admin/audit-logs?target_type=user&target_id=${u.id}`}>
          Changes to {u.username}
        </Link>
      </div>
    </Card>
  );
}

function RecentAllocations({ u }: { u: User }) {
  const q = useGet('/api/v1/admin/allocations', { query: { user_id: u.id, page_size: 5 } });
  return (
    <Card
      title="Latest allocations"
      className="span-2"
      actions={<Link to={`/admin/allocations?user_id=${u.id}`}>All of {u.username}’s allocations</Link>}
    >
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0}
        empty={<Empty title="No allocations" hint={`${u.username} has not started any GPU machine.`} />}
      >
        {(d) => (
          <DataTable
            caption={`Latest allocations of ${u.username}`}
            rows={d.items}
            rowKey={(a) => a.id}
            columns={[
              {
                key: 'name',
                header: 'Name',
                render: (a) => (
                  <div className="cell-stack">
                    <strong>
                      <Link to={`/admin/allocations/${a.id}`}>{a.name || shortId(a.id)}</Link>
                    </strong>
                    <span className="muted">{a.sku_id}</span>
                  </div>
                ),
              },
              { key: 'status', header: 'Status', render: (a) => <StatusPill status={a.status} /> },
              {
                key: 'price',
                header: 'Price / hour',
                align: 'right',
                render: (a) => <Money minor={a.price_per_hour_minor} currency={a.currency} />,
                hideOnMobile: true,
              },
              {
                key: 'created',
                header: 'Created',
                render: (a) => <time dateTime={a.created_at}>{formatRelative(a.created_at)}</time>,
              },
            ]}
          />
        )}
      </StateView>
    </Card>
  );
}

/**
 * The user's storage: usage against the quota, a new quota in GB (sent as
 * integer bytes), or back to the platform default (null). Per user only: the
 * platform has no teams yet.
 */
function StorageQuotaCard({ u }: { u: User }) {
  const q = useGet('/api/v1/admin/users/{user_id}/storage-quota', { path: { user_id: u.id } });
  const toast = useToast();
  const [gib, setGib] = useState('');
  const [touched, setTouched] = useState(false);
  const parsed = parseQuotaGiB(gib);
  const save = useMutate(
    (quota: number | null) =>
      api.put('/api/v1/admin/users/{user_id}/storage-quota', { path: { user_id: u.id }, body: { quota_bytes: quota } }),
    { invalidates: ['/api/v1/admin/users', '/api/v1/admin/audit-logs'] },
  );
  const apply = async (quota: number | null) => {
    const r = await save.run(quota);
    if (r) {
      q.setData(r);
      setGib('');
      setTouched(false);
      toast({
        tone: 'success',
        title: quota === null ? 'Storage quota back to the default' : 'Storage quota set',
        message: `${u.username} may keep ${formatBytes(r.quota_bytes)}.`,
      });
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!parsed.ok || save.pending) return;
    void apply(parsed.bytes);
  };

  if (q.error?.code === 'storage_disabled' || routeMissing(q.error)) {
    return (
      <Card title="Storage">
        <p className="muted" data-testid="storage-quota-off">
          {q.error?.code === 'storage_disabled'
            ? 'Storage is not set up on this server, so there is no quota to set.'
            : 'This server does not offer storage yet.'}
        </p>
      </Card>
    );
  }
  return (
    <Card title="Storage">
      <div data-testid="storage-quota" aria-busy={q.loading}>
        <StateView state={q} loadingLabel={`Loading ${u.username}’s storage`}>
          {(s) => <UsageBar used={s.used_bytes} quota={s.quota_bytes} label={`${u.username}’s storage used`} />}
        </StateView>
      </div>
      <form className="adjust-form" onSubmit={submit} noValidate>
        <Field
          label="New quota (GB)"
          hint={
            q.data
              ? `Now ${formatBytes(q.data.quota_bytes)}. 1 GB = 1024 MB. Lowering it below the usage blocks new uploads; nothing is deleted.`
              : '1 GB = 1024 MB.'
          }
          error={touched && !parsed.ok ? parsed.error : undefined}
        >
          {(p) => (
            <input {...p} inputMode="decimal" autoComplete="off" placeholder={q.data ? quotaToGiBText(q.data.quota_bytes) : '50'} value={gib} onChange={(e) => setGib(e.target.value)} />
          )}
        </Field>
        {save.error && <ErrorBox error={save.error} compact />}
        <div className="link-row">
          <button type="submit" className="button primary" disabled={save.pending}>
            {parsed.ok ? `Set quota to ${formatBytes(parsed.bytes)}` : 'Set quota'}
          </button>
          <button type="button" className="button" disabled={save.pending} onClick={() => void apply(null)}>
            Reset to default
          </button>
        </div>
      </form>
    </Card>
  );
}
