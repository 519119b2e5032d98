// Every payment: status and user filters (in the URL, so the user page can
// link here filtered), the Stripe ids support needs, and "Reconcile now",
// which compares recent Checkout Sessions in Stripe with ours and shows what
// it repaired and any mismatches.
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { PAYMENT_STATUSES } from '../../api/enums.gen';
import { useGet, useMutate } from '../../api/query';
import type { Payment, PaymentStatus, ReconcileReport } from '../../api/types';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { FilterBar, SelectFilter } from '../../components/Filters';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { filterKey, useUrlFilters } from '../../features/admin/filters';
import { useUserLookup } from '../../features/admin/lookups';
import { statusLabel } from '../../features/user/payments';
import { formatDateTime, shortId } from '../../lib/format';
import '../../features/admin/admin.css';

const FILTERS = ['status', 'user_id'] as const;

export function AdminPaymentsPage() {
  const [f, setF] = useUrlFilters(FILTERS);
  const pager = useCursorPager();
  const users = useUserLookup();
  const q = useGet('/api/v1/admin/payments', {
    query: { cursor: pager.cursor, status: (f.status || undefined) as PaymentStatus | undefined, user_id: f.user_id || undefined },
  });
  const key = filterKey({ status: f.status, user_id: f.user_id });
  const { reset } = pager;
  useEffect(() => reset(), [key, reset]);
  const reconcile = useMutate(() => api.post('/api/v1/admin/payments/reconcile', {}), {
    invalidates: ['/api/v1/admin/payments', '/api/v1/admin/users', '/api/v1/admin/overview'],
  });
  const [report, setReport] = useState<ReconcileReport>();
  const runReconcile = async () => {
    const r = await reconcile.run();
    if (r) setReport(r);
  };

  const columns: Column<Payment>[] = [
    {
      key: 'when',
      header: 'Started',
      render: (p) => (
        <div className="cell-stack">
          <Link to={`/admin/payments/${p.id}`}>{formatDateTime(p.created_at)}</Link>
          <span className="muted small-print">{shortId(p.id)}</span>
        </div>
      ),
    },
    {
      key: 'user',
      header: 'User',
      render: (p) => <Link to={`/admin/users/${p.user_id}`}>{users.name(p.user_id) ?? shortId(p.user_id)}</Link>,
    },
    { key: 'amount', header: 'Amount', align: 'right', render: (p) => <Money minor={p.amount_minor} currency={p.currency} /> },
    { key: 'status', header: 'Status', render: (p) => <StatusPill status={p.status} label={statusLabel(p.status)} /> },
    {
      key: 'stripe',
      header: 'Stripe session',
      hideOnMobile: true,
      render: (p) => <code className="small-print">{p.stripe_checkout_session_id}</code>,
    },
  ];

  return (
    <Page title="Payments" subtitle="Top-ups paid through Stripe, refunds and disputes." actions={
        <button type="button" className="button" disabled={reconcile.pending} onClick={runReconcile} data-testid="reconcile">
          {reconcile.pending ? 'Reconciling…' : 'Reconcile now'}
        </button>
      }
    >
      {reconcile.error && <ErrorBox error={reconcile.error} title="Reconciliation failed" compact />}
      {report && <ReconcileReportCard r={report} />}
      <FilterBar label="Payment filters">
        <SelectFilter id="payments-status" label="Status" value={f.status} onChange={(v) => setF({ status: v })}>
          <option value="">Any status</option>
          {PAYMENT_STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </SelectFilter>
        <SelectFilter id="payments-user" label="User" value={f.user_id} onChange={(v) => setF({ user_id: v })}>
          <option value="">Any user</option>
          {users.items.map((u) => (
            <option key={u.id} value={u.id}>
              {u.username}
            </option>
          ))}
        </SelectFilter>
      </FilterBar>
      <Card>
        <StateView
          state={q}
          isEmpty={(d) => d.items.length === 0 && !pager.canBack}
          empty={<Empty title="No payments" hint={f.status || f.user_id ? 'Clear the filters to see all.' : 'Top-ups users start appear here.'} />}
          loadingLabel="Loading payments…"
        >
          {(d) => (
            <>
              <DataTable caption="Payments" columns={columns} rows={d.items} rowKey={(p) => p.id} />
              <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
            </>
          )}
        </StateView>
      </Card>
    </Page>
  );
}

function ReconcileReportCard({ r }: { r: ReconcileReport }) {
  return (
    <Card title="Reconciliation">
      <p data-testid="reconcile-report">
        {r.sessions_seen} Checkout {r.sessions_seen === 1 ? 'Session' : 'Sessions'} checked: {r.credited} credited, {r.expired}{' '}
        expired, {r.failed} failed, {r.mismatches.length} {r.mismatches.length === 1 ? 'mismatch' : 'mismatches'}.
      </p>
      {r.mismatches.length > 0 && (
        <ul className="mismatch-list">
          {r.mismatches.map((m) => (
            <li key={m.payment_id}>
              <Link to={`/admin/payments/${m.payment_id}`}>{shortId(m.payment_id)}</Link> ({m.stripe_checkout_session_id}): {m.reason}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
