// Your allocations: a status filter (asked of the server), a search over the
// page shown (id, name, SKU, node), "Showing x of y", cursor pages, and rows
// that open the allocation. The filter and search live in the URL, so a
// reload or a shared link shows the same view. Live: reloads on an
// allocation notification, and polls as the fallback.
import { useEffect } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useGet } from '../../api/query';
import type { Allocation, AllocationStatus } from '../../api/types';
import { teamQuery, useAccount } from '../../app/account';
import { useNotifications } from '../../app/notifications';
import { DataTable, type Column } from '../../components/DataTable';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { ALLOCATION_STATUSES, allocationTitle, matchesSearch, showingText } from '../../features/user/allocations';
import { formatDateTime, formatElapsed, shortId } from '../../lib/format';
import '../../features/user/user.css';

const PAGE_SIZE = 25;

const columns: Column<Allocation>[] = [
  {
    key: 'name',
    header: 'Allocation',
    render: (a) => (
      <div className="cell-stack">
        <Link to={`/allocations/${a.id}`} onClick={(e) => e.stopPropagation()}>
          {allocationTitle(a)}
        </Link>
        <span className="muted mono" title={a.id}>
          {shortId(a.id)}
        </span>
      </div>
    ),
  },
  { key: 'status', header: 'Status', render: (a) => <StatusPill status={a.status} /> },
  {
    key: 'sku',
    header: 'SKU',
    render: (a) => (
      <div className="cell-stack">
        <span>{a.sku_id}</span>
        <span className="muted">
          {a.gpu_count} GPU{a.gpu_count === 1 ? '' : 's'}
        </span>
      </div>
    ),
  },
  {
    key: 'node',
    header: 'Node',
    hideOnMobile: true,
    render: (a) =>
      a.node_id ? (
        <span className="mono" title={a.node_id}>
          {shortId(a.node_id)}
          {a.node_status === 'offline' && (
            <>
              {' '}
              <StatusPill status="offline" />
            </>
          )}
        </span>
      ) : (
        <span className="muted">—</span>
      ),
  },
  {
    key: 'price',
    header: 'Price / hour',
    align: 'right',
    hideOnMobile: true,
    render: (a) => <Money minor={a.price_per_hour_minor} currency={a.currency} />,
  },
  {
    key: 'created',
    header: 'Created',
    hideOnMobile: true,
    render: (a) => (
      <div className="cell-stack">
        <span>{formatDateTime(a.created_at)}</span>
        {a.active_at && (
          <span className="muted">
            {a.released_at ? 'ran' : 'running'} {formatElapsed(a.active_at, a.released_at ?? null)}
          </span>
        )}
      </div>
    ),
  },
];

function isStatus(v: string | null): v is AllocationStatus {
  return v !== null && (ALLOCATION_STATUSES as readonly string[]).includes(v);
}

export function AllocationsPage() {
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const status = isStatus(statusParam) ? statusParam : undefined;
  const search = params.get('q') ?? '';
  const pager = useCursorPager();
  const navigate = useNavigate();
  const { connection } = useNotifications();

  // Pushes refetch it when the socket is up (app/cache.tsx); a poll as the fallback (faster while it is down).
  const { team, current } = useAccount();
  const q = useGet(
    '/api/v1/allocations',
    { query: { status, cursor: pager.cursor, page_size: PAGE_SIZE, ...teamQuery(team) } },
    { refetchInterval: connection === 'open' ? 30_000 : 8_000 },
  );

  const { reset } = pager;
  useEffect(() => reset(), [status, reset]);

  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <Page
      title="Allocations"
      subtitle={current ? `Team ${current.name}: its GPU allocations, newest first.` : 'Your GPU allocations, newest first.'}
      actions={
        <Link to="/marketplace" className="button primary">
          New allocation
        </Link>
      }
    >
      <div className="list-filters" role="search" aria-label="Filter allocations">
        <Field label="Status">
          {(p) => (
            <select {...p} value={status ?? ''} onChange={(e) => setParam('status', e.target.value)}>
              <option value="">All statuses</option>
              {ALLOCATION_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s.replace(/_/g, ' ')}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Search">
          {(p) => (
            <input
              {...p}
              type="search"
              value={search}
              placeholder="Id, name, SKU or node"
              onChange={(e) => setParam('q', e.target.value)}
            />
          )}
        </Field>
      </div>
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0 && !pager.canBack}
        empty={
          status ? (
            <Empty
              title={`No ${status.replace(/_/g, ' ')} allocations`}
              hint="Choose another status to see the rest."
              action={
                <button type="button" className="button" onClick={() => setParam('status', '')}>
                  Show all
                </button>
              }
            />
          ) : (
            <Empty
              title="No allocations yet"
              hint="Pick a GPU machine in the marketplace; it is ready in seconds."
              action={
                <Link to="/marketplace" className="button primary">
                  Open the marketplace
                </Link>
              }
            />
          )
        }
        loadingLabel="Loading your allocations…"
      >
        {(d) => {
          const rows = d.items.filter((a) => matchesSearch(a, search));
          return (
            <>
              <p className="showing-count" aria-live="polite" data-testid="showing">
                {showingText(rows.length, d.items.length)}
                {(pager.canBack || d.next_cursor) && <span className="muted"> on page {pager.page}</span>}
              </p>
              {rows.length === 0 ? (
                <Empty
                  title="Nothing matches your search"
                  hint={`No allocation on this page matches “${search}”.`}
                  action={
                    <button type="button" className="button" onClick={() => setParam('q', '')}>
                      Clear the search
                    </button>
                  }
                />
              ) : (
                <DataTable
                  caption="Your allocations"
                  columns={columns}
                  rows={rows}
                  rowKey={(a) => a.id}
                  onRowClick={(a) => navigate(`/allocations/${a.id}`)}
                  rowLabel={(a) => `Open ${allocationTitle(a)}, ${a.status.replace(/_/g, ' ')}`}
                />
              )}
              <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
            </>
          );
        }}
      </StateView>
    </Page>
  );
}
