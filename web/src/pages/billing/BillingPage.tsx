// Billing: the balance (what is left after usage not yet debited), what runs
// now and for how long the balance lasts, the usage windows (one per
// allocation that became active) with cursor pages and a date filter, and
// the CSV export of the same range, fetched with the session's token.
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { download } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { UsageRecord } from '../../api/types';
import { isLow, useBalance } from '../../app/balance';
import { AllocationName } from '../../features/user/AllocationName';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Card, Page, Stat } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import { csvFilename, usageRange } from '../../features/user/billing';
import { formatDateTime, formatDuration } from '../../lib/format';
import '../../features/user/user.css';

const PAGE_SIZE = 20;

const columns: Column<UsageRecord>[] = [
  {
    key: 'allocation',
    header: 'Allocation',
    render: (u) => (
      <Link to={`/allocations/${u.allocation_id}`} title={u.allocation_id}>
        <AllocationName id={u.allocation_id} />
      </Link>
    ),
  },
  { key: 'sku', header: 'SKU', render: (u) => u.sku_id },
  { key: 'started', header: 'Started', hideOnMobile: true, render: (u) => formatDateTime(u.started_at) },
  {
    key: 'ended',
    header: 'Ended',
    hideOnMobile: true,
    render: (u) => (u.ended_at ? formatDateTime(u.ended_at) : <StatusPill status="active" label="running" />),
  },
  { key: 'duration', header: 'Duration', align: 'right', render: (u) => formatDuration(u.seconds) },
  {
    key: 'amount',
    header: 'Amount',
    align: 'right',
    render: (u) => <Money minor={u.amount_minor} currency={u.currency} />,
  },
];

export function BillingPage() {
  const balance = useBalance();
  const pager = useCursorPager();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const range = usageRange(from, to);
  // Open windows grow by the second: the usage is refetched every 30 s, and
  // with the balance on any allocation change (app/cache.tsx).
  const usage = useGet(
    '/api/v1/billing/usage',
    { query: { cursor: pager.cursor, page_size: PAGE_SIZE, since: range.since, until: range.until } },
    { refetchInterval: 30_000 },
  );
  const { reset } = pager;
  useEffect(() => reset(), [range.since, range.until, reset]);

  const toast = useToast();
  const exportCsv = useMutate(async () => {
    await download('/api/v1/billing/usage/csv', {
      query: { since: range.since, until: range.until },
      filename: csvFilename(from, to),
    });
    return true;
  });
  const onExport = async () => {
    if (await exportCsv.run()) toast({ tone: 'success', title: 'Usage exported', message: csvFilename(from, to) });
  };

  const b = balance.data;
  return (
    <Page
      title="Billing"
      subtitle="Your balance, what runs now, and what you have used."
      actions={
        <button
          type="button"
          className="button"
          onClick={onExport}
          disabled={exportCsv.pending || !!range.error}
          data-testid="export-csv"
        >
          {exportCsv.pending ? 'Exporting…' : 'Export CSV'}
        </button>
      }
    >
      {exportCsv.error && <ErrorBox error={exportCsv.error} title="The export failed" compact />}
      <StateView state={balance} loadingLabel="Loading your balance…">
        {(b) => {
          const left = b.balance_minor - b.unbilled_minor;
          return (
            <div className="stats" data-testid="balance">
              <Stat
                label="Available balance"
                value={<Money minor={left} currency={b.currency} signed={left < 0} />}
                hint={
                  b.unbilled_minor > 0 ? (
                    <>
                      <Money minor={b.balance_minor} currency={b.currency} /> on the ledger,{' '}
                      <Money minor={b.unbilled_minor} currency={b.currency} /> used and not yet debited
                    </>
                  ) : (
                    'Credit is added by an administrator.'
                  )
                }
              />
              <Stat
                label="Running now"
                value={
                  <>
                    <Money minor={b.burn_rate_per_hour_minor} currency={b.currency} />
                    <span className="stat-unit"> / hour</span>
                  </>
                }
                hint={b.burn_rate_per_hour_minor > 0 ? 'The summed price of what is billed now.' : 'Nothing is billed now.'}
              />
              <Stat
                label="Lasts"
                value={b.runway_seconds === null ? '—' : formatDuration(b.runway_seconds)}
                hint={
                  b.runway_seconds === null ? (
                    'No allocation is running.'
                  ) : isLow(b) ? (
                    <span className="text-warning">Low: running allocations are released at zero.</span>
                  ) : (
                    'At the current rate, until the balance reaches zero.'
                  )
                }
              />
            </div>
          );
        }}
      </StateView>

      <Card
        title="Usage"
        actions={
          usage.updatedAt && <span className="muted fine-print">Updated {formatDateTime(usage.updatedAt)}</span>
        }
      >
        <div className="list-filters" role="search" aria-label="Usage date range">
          <Field label="From" error={range.error}>
            {(p) => <input {...p} type="date" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} />}
          </Field>
          <Field label="To">
            {(p) => <input {...p} type="date" value={to} min={from || undefined} onChange={(e) => setTo(e.target.value)} />}
          </Field>
          {(from || to) && (
            <button
              type="button"
              className="button ghost list-filters-clear"
              onClick={() => {
                setFrom('');
                setTo('');
              }}
            >
              Clear dates
            </button>
          )}
        </div>
        <StateView
          state={usage}
          isEmpty={(d) => d.items.length === 0 && !pager.canBack}
          empty={
            <Empty
              title={from || to ? 'No usage in these dates' : 'No usage yet'}
              hint={
                from || to
                  ? 'Choose other dates, or clear them to see everything.'
                  : 'Each allocation that becomes active appears here with its duration and amount.'
              }
              action={
                !(from || to) && (
                  <Link to="/marketplace" className="button primary">
                    Open the marketplace
                  </Link>
                )
              }
            />
          }
          loadingLabel="Loading usage…"
        >
          {(d) => (
            <>
              <DataTable caption="Usage windows" columns={columns} rows={d.items} rowKey={(u) => u.allocation_id} />
              <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={usage.loading} />
            </>
          )}
        </StateView>
        {b && (
          <p className="muted fine-print">
            Amounts are whole seconds × the price per hour ÷ 3600, rounded up to the next {b.currency} minor unit.
          </p>
        )}
      </Card>
    </Page>
  );
}
