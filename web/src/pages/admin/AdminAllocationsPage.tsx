// Every allocation of every user. Status, user and node filters go to the API,
// which filters before it pages; the free-text search (the API has none for
// allocations) narrows the page loaded. All live in the URL, so the user
// detail's "their allocations" link lands here filtered. Force-release asks
// for a reason, which is kept on the allocation and in the audit log.
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import { ALLOCATION_STATUSES } from '../../api/enums.gen';
import type { Allocation, AllocationStatus } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { FilterBar, SearchFilter, SelectFilter } from '../../components/Filters';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import {
  canForceRelease,
  filterKey,
  listCount,
  searchAllocations,
  showingCount,
  useUrlFilters,
} from '../../features/admin/filters';
import { useNodeLookup, useUserLookup } from '../../features/admin/lookups';
import { formatDateTime, formatElapsed, formatRelative, shortId } from '../../lib/format';
import '../../features/admin/admin.css';

const FILTERS = ['q', 'status', 'user_id', 'node_id'] as const;
const STATUSES: readonly AllocationStatus[] = ALLOCATION_STATUSES;
const REASON_MAX = 500;

export function AdminAllocationsPage() {
  const [f, setF] = useUrlFilters(FILTERS);
  const pager = useCursorPager();
  const users = useUserLookup();
  const nodes = useNodeLookup();
  const toast = useToast();
  const [target, setTarget] = useState<Allocation | null>(null);
  const [reason, setReason] = useState('');

  const q = useGet(
    '/api/v1/admin/allocations',
    {
      query: {
        cursor: pager.cursor,
        status: (f.status || undefined) as AllocationStatus | undefined,
        user_id: f.user_id || undefined,
        node_id: f.node_id || undefined,
      },
    },
    { refetchInterval: 10_000 },
  );
  const key = filterKey({ status: f.status, user_id: f.user_id, node_id: f.node_id });
  const serverFiltered = Boolean(f.status || f.user_id || f.node_id);
  const { reset } = pager;
  useEffect(() => reset(), [key, reset]);

  const release = useMutate(
    (id: string, why: string) =>
      api.post('/api/v1/admin/allocations/{allocation_id}/force-release', {
        path: { allocation_id: id },
        body: { reason: why },
      }),
    { invalidates: ['/api/v1/admin', '/api/v1/allocations', '/api/v1/billing', '/api/v1/skus'] },
  );

  const open = (a: Allocation) => {
    release.reset();
    setReason('');
    setTarget(a);
  };

  const columns: Column<Allocation>[] = [
    {
      key: 'name',
      header: 'Allocation',
      render: (a) => (
        <div className="cell-stack">
          <strong>
            <Link to={`/admin/allocations/${a.id}`} onClick={(e) => e.stopPropagation()}>
              {a.name || shortId(a.id)}
            </Link>
          </strong>
          <span className="muted">
            {shortId(a.id)} · {a.sku_id}
          </span>
        </div>
      ),
    },
    {
      key: 'user',
      header: 'User',
      render: (a) => (
        <Link to={`/admin/users/${a.user_id}`} onClick={(e) => e.stopPropagation()}>
          {users.name(a.user_id) ?? shortId(a.user_id)}
        </Link>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (a) => (
        <div className="cell-stack">
          <StatusPill status={a.status} />
          {a.release_reason && <span className="muted small-print">{a.release_reason}</span>}
          {a.failure_reason && <span className="muted small-print">{a.failure_reason}</span>}
          {(a.status === 'releasing' || a.status === 'release_failed') && a.attempts > 0 && (
            <span className="muted small-print retry-note" title={a.last_error}>
              Release failed {a.attempts} {a.attempts === 1 ? 'time' : 'times'}, still retrying
              {a.last_error ? `: ${a.last_error}` : ''}
            </span>
          )}
        </div>
      ),
    },
    {
      key: 'node',
      header: 'Node',
      hideOnMobile: true,
      render: (a) =>
        a.node_id ? (
          <span>
            {nodes.name(a.node_id) ?? shortId(a.node_id)}
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
    { key: 'gpus', header: 'GPUs', align: 'right', render: (a) => a.gpu_count, hideOnMobile: true },
    {
      key: 'price',
      header: 'Price / hour',
      align: 'right',
      hideOnMobile: true,
      render: (a) => <Money minor={a.price_per_hour_minor} currency={a.currency} />,
    },
    {
      key: 'age',
      header: 'Created',
      hideOnMobile: true,
      render: (a) => (
        <time dateTime={a.created_at} title={formatDateTime(a.created_at)}>
          {formatRelative(a.created_at)}
          {a.active_at && !a.released_at && <span className="muted"> · up {formatElapsed(a.active_at)}</span>}
        </time>
      ),
    },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      align: 'right',
      render: (a) =>
        canForceRelease(a) ? (
          <button
            type="button"
            className="button small danger"
            onClick={() => open(a)}
            aria-label={`Force-release ${a.name || shortId(a.id)}`}
          >
            Force release
          </button>
        ) : null,
    },
  ];

  const trimmed = reason.trim();
  return (
    <Page title="All allocations" subtitle="Every allocation of every user.">
      <FilterBar label="Filter allocations">
        <SearchFilter id="alloc-q" placeholder="Name, id, SKU or user on this page" value={f.q} onChange={(v) => setF({ q: v })} />
        <SelectFilter id="alloc-status" label="Status" value={f.status} onChange={(v) => setF({ status: v })}>
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace(/_/g, ' ')}
            </option>
          ))}
        </SelectFilter>
        <SelectFilter id="alloc-user" label="User" value={f.user_id} onChange={(v) => setF({ user_id: v })}>
          <option value="">Any user</option>
          {f.user_id && !users.map.has(f.user_id) && <option value={f.user_id}>{shortId(f.user_id)}</option>}
          {users.items.map((u) => (
            <option key={u.id} value={u.id}>
              {u.username}
            </option>
          ))}
        </SelectFilter>
        <SelectFilter id="alloc-node" label="Node" value={f.node_id} onChange={(v) => setF({ node_id: v })}>
          <option value="">Any node</option>
          {f.node_id && !nodes.map.has(f.node_id) && <option value={f.node_id}>{shortId(f.node_id)}</option>}
          {nodes.items.map((n) => (
            <option key={n.id} value={n.id}>
              {n.hostname}
            </option>
          ))}
        </SelectFilter>
      </FilterBar>
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0 && !serverFiltered}
        empty={<Empty title="No allocations yet" hint="Allocations appear here as soon as users create them." />}
      >
        {(d) => {
          const rows = searchAllocations(d.items, f.q, users.map);
          const morePages = Boolean(d.next_cursor) || pager.canBack;
          return (
            <div className="list-block">
              <p className="list-count" aria-live="polite">
                {f.q.trim()
                  ? showingCount(rows.length, d.items.length, 'allocation', morePages)
                  : listCount(rows.length, 'allocation', serverFiltered, morePages)}
              </p>
              {rows.length === 0 ? (
                <Empty
                  title="No allocation matches"
                  hint="Nothing matches these filters."
                  action={
                    <button
                      type="button"
                      className="button"
                      onClick={() => setF({ q: '', status: '', user_id: '', node_id: '' })}
                    >
                      Clear filters
                    </button>
                  }
                />
              ) : (
                <DataTable caption="Allocations" columns={columns} rows={rows} rowKey={(a) => a.id} />
              )}
              <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
            </div>
          );
        }}
      </StateView>

      <ConfirmDialog
        open={target !== null}
        title={`Force-release ${target ? target.name || shortId(target.id) : ''}?`}
        message={
          target && (
            <>
              {users.name(target.user_id) ?? 'The user'} loses the machine now and its GPUs are freed; billing stops.
              The reason is shown to the user and kept in the audit log.
            </>
          )
        }
        confirmLabel="Force release"
        danger
        pending={release.pending}
        error={release.error}
        confirmDisabled={trimmed === '' || reason.length > REASON_MAX}
        onCancel={() => setTarget(null)}
        onConfirm={async () => {
          if (!target) return;
          const a = await release.run(target.id, trimmed);
          if (a) {
            setTarget(null);
            q.setData((prev) => (prev ? { ...prev, items: prev.items.map((x) => (x.id === a.id ? a : x)) } : prev!));
            toast({ tone: 'success', title: 'Release requested', message: `${a.name || shortId(a.id)} is ${a.status}.` });
            void q.reload();
          }
        }}
      >
        <Field label="Reason" hint={`Required. ${reason.length}/${REASON_MAX}`}>
          {(p) => (
            <textarea
              {...p}
              rows={3}
              value={reason}
              maxLength={REASON_MAX}
              onChange={(e) => setReason(e.target.value)}
              required
            />
          )}
        </Field>
      </ConfirmDialog>
    </Page>
  );
}
