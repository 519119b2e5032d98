// Billing: the balance (what is left after usage not yet debited), what runs
// now and for how long the balance lasts, the usage windows (one per
// allocation that became active) with cursor pages and a date filter, and
// the daily storage charges of a priced storage region (region, day,
// average size, amount) with their own pages, and the CSV export of the
// same range (windows and storage charges), fetched with the session's token;
// the daily spend by SKU over the last 30 days, and the spend limits in
// force with their use.
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { download } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import { teamQuery, useAccount } from '../../app/account';
import type { StorageCharge, UsageRecord } from '../../api/types';
import { isLow, useBalance } from '../../app/balance';
import { AllocationName } from '../../features/user/AllocationName';
import { LimitsCard, SpendChart } from '../../features/user/SpendLimits';
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
import { usePayments } from '../../app/payments';
import { AddCreditCard, PaymentHistoryCard } from './Payments';
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

/** Bytes in a GiB: storage is priced per GiB-month. */
const GIB = 2 ** 30;

const storageColumns: Column<StorageCharge>[] = [
  { key: 'day', header: 'Day (UTC)', render: (c) => c.day },
  { key: 'region', header: 'Region', render: (c) => c.region },
  {
    key: 'size',
    header: 'Average size',
    align: 'right',
    render: (c) => `${(c.used_bytes / GIB).toFixed(2)} GiB`,
  },
  {
    key: 'price',
    header: 'Price / GiB-month',
    align: 'right',
    hideOnMobile: true,
    render: (c) => <Money minor={c.price_per_gib_month_minor} currency={c.currency} />,
  },
  {
    key: 'amount',
    header: 'Amount',
    align: 'right',
    render: (c) => <Money minor={c.amount_minor} currency={c.currency} />,
  },
];

export function BillingPage() {
  const balance = useBalance();
  const { team, current } = useAccount();
  const pager = useCursorPager();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const range = usageRange(from, to);
  // Open windows grow by the second: the usage is refetched every 30 s, and
  // with the balance on any allocation change (app/cache.tsx).
  const usage = useGet(
    '/api/v1/billing/usage',
    { query: { cursor: pager.cursor, page_size: PAGE_SIZE, since: range.since, until: range.until, ...teamQuery(team) } },
    { refetchInterval: 30_000 },
  );
  const { reset } = pager;
  useEffect(() => reset(), [range.since, range.until, reset]);
  // Storage is charged once a day: no need to refetch on a timer.
  const storagePager = useCursorPager();
  const storage = useGet('/api/v1/billing/storage-charges', {
    query: { cursor: storagePager.cursor, page_size: PAGE_SIZE, since: range.since, until: range.until, ...teamQuery(team) },
  });
  const { reset: resetStorage } = storagePager;
  useEffect(() => resetStorage(), [range.since, range.until, resetStorage]);

  const toast = useToast();
  const exportCsv = useMutate(async () => {
    await download('/api/v1/billing/usage/csv', {
      query: { since: range.since, until: range.until, ...teamQuery(team) },
      filename: csvFilename(from, to),
    });
    return true;
  });
  const onExport = async () => {
    if (await exportCsv.run()) toast({ tone: 'success', title: 'Usage exported', message: csvFilename(from, to) });
  };

  const b = balance.data;
  const payments = usePayments();
  return (
    <Page
      title="Billing"
      subtitle={
        current ? `Team ${current.name}: its balance, what runs now, and what it has used.` : 'Your balance, what runs now, and what you have used.'
      }
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
                  ) : payments ? (
                    'Add credit below; an administrator may add some too.'
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

      <SpendChart />
      <LimitsCard />
      {payments && <AddCreditCard cfg={payments} />}
      {payments && <PaymentHistoryCard />}

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

      <Card title="Storage">
        <StateView
          state={storage}
          isEmpty={(d) => d.items.length === 0 && !storagePager.canBack}
          empty={
            <Empty
              title={from || to ? 'No storage charges in these dates' : 'No storage charges'}
              hint="Files in a region with a storage price are charged once a day, by their size that day."
            />
          }
          loadingLabel="Loading storage charges…"
        >
          {(d) => (
            <>
              <DataTable
                caption="Storage charges"
                columns={storageColumns}
                rows={d.items}
                rowKey={(c) => `${c.day}/${c.region}/${c.namespace}`}
              />
              <Pagination pager={storagePager} nextCursor={d.next_cursor || undefined} disabled={storage.loading} />
            </>
          )}
        </StateView>
        <p className="muted fine-print">
          A day costs its size × the price per GiB-month ÷ 30; the fraction of a minor unit left over is carried to the next
          day.
        </p>
      </Card>
    </Page>
  );
}
