// The audit log, newest first. Filters (category, action, actor, target type,
// target id, time range) are what the API takes; they and the page (cursor)
// live in the URL, so the user detail's links land here filtered and a reload
// keeps the page. They apply on submit, not per keystroke. Each entry has a
// readable name (a force release reads "Force release"), and a search finds
// entries on the page shown by name or description. The CSV export
// sends the same filters and downloads with the session's token.
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { download } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { components } from '../../api/schema';
import type { AuditLog } from '../../api/types';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { SelectFilter } from '../../components/Filters';
import { Page } from '../../components/Page';
import { Pagination, useUrlCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import {
  AUDIT_TARGET_TYPES,
  AUDIT_CATEGORIES,
  categoryOf,
  describeAudit,
  entryLabel,
  matchesAudit,
  localInputToRFC3339,
  metadataPairs,
  rfc3339ToLocalInput,
  useAuditActions,
} from '../../features/admin/audit';
import { filterKey, useUrlFilters } from '../../features/admin/filters';
import { useUserLookup } from '../../features/admin/lookups';
import { formatDateTime, shortId } from '../../lib/format';
import '../../features/admin/admin.css';

const FILTERS = ['category', 'action', 'actor_user_id', 'target_type', 'target_id', 'since', 'until', 'q'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Category = components['parameters']['AuditCategory'];

function isCategory(c: string): c is Category {
  return AUDIT_CATEGORIES.some((x) => x.value === c);
}

/** An action filter that ends with "." or "*" is a prefix. */
export function isPrefix(action: string): boolean {
  return /[.*]$/.test(action.trim());
}

/** The API query of the filters (empty ones left out by the client). */
export function auditQuery(f: Filters) {
  return {
    // The category ("allocation" → allocation.*); an older server ignores it, and the page is narrowed here too.
    category: isCategory(f.category) ? f.category : undefined,
    // "allocation." or "allocation.force*" asks for every action that starts so (action_prefix).
    action_prefix: isPrefix(f.action) ? f.action.trim().replace(/\*$/, '') : undefined,
    action: isPrefix(f.action) ? undefined : f.action.trim() || undefined,
    actor_user_id: f.actor_user_id || undefined,
    target_type: f.target_type || undefined,
    target_id: f.target_id.trim() || undefined,
    since: f.since || undefined,
    until: f.until || undefined,
  };
}

export function AuditLogsPage() {
  const [f, setF] = useUrlFilters(FILTERS);
  const pager = useUrlCursorPager();
  const users = useUserLookup();
  const actions = useAuditActions();
  const [draft, setDraft] = useState<Filters>(f);
  const key = filterKey(f);
  // New filters start at the first page (useUrlFilters drops the cursor); the form shows them.
  useEffect(() => {
    setDraft(f);
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  const q = useGet('/api/v1/admin/audit-logs', { query: { ...auditQuery(f), cursor: pager.cursor } });
  const exporting = useMutate(() => download('/api/v1/admin/audit-logs/export', { query: auditQuery(f) }));

  const actorError = draft.actor_user_id && !UUID.test(draft.actor_user_id) ? 'Pick a user' : undefined;
  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (actorError) return;
    setF(draft);
  };
  const clear = () =>
    setF({ category: '', action: '', actor_user_id: '', target_type: '', target_id: '', since: '', until: '', q: '' });
  const filtered = FILTERS.some((k) => f[k]);
  const activeCount = FILTERS.filter((k) => f[k]).length;
  const [filtersOpen, setFiltersOpen] = useState(false);

  const who = (id: string | null | undefined) => {
    if (!id) return <span className="muted">system</span>;
    return <Link to={`/admin/users/${id}`}>{users.name(id) ?? shortId(id)}</Link>;
  };

  const columns: Column<AuditLog>[] = [
    {
      key: 'when',
      header: 'When',
      render: (e) => (
        <time dateTime={e.occurred_at} className="nowrap">
          {formatDateTime(e.occurred_at)}
        </time>
      ),
    },
    { key: 'actor', header: 'Actor', render: (e) => who(e.actor_user_id) },
    {
      key: 'action',
      header: 'Action',
      render: (e) => (
        <div className="cell-stack">
          <strong>{entryLabel(e)}</strong>
          <code className="muted">{e.action}</code>
        </div>
      ),
    },
    {
      key: 'target',
      header: 'Target',
      render: (e) => (
        <div className="cell-stack">
          <span>{e.target_type || '—'}</span>
          {e.target_id &&
            (e.target_type === 'user' ? (
              <Link to={`/admin/users/${e.target_id}`}>{users.name(e.target_id) ?? shortId(e.target_id)}</Link>
            ) : e.target_type === 'allocation' ? (
              <span>
                <Link to={`/admin/allocations/${e.target_id}`}>{shortId(e.target_id)}</Link>{' '}
                <button
                  type="button"
                  className="link-button"
                  title={`Show entries about ${e.target_id}`}
                  onClick={() => setF({ target_id: e.target_id })}
                >
                  (entries)
                </button>
              </span>
            ) : (
              <button
                type="button"
                className="link-button"
                title={`Show entries about ${e.target_id}`}
                onClick={() => setF({ target_id: e.target_id })}
              >
                {shortId(e.target_id)}
              </button>
            ))}
        </div>
      ),
    },
    {
      key: 'details',
      header: 'Details',
      render: (e) => (
        <div className="audit-details">
          <span>{describeAudit(e)}</span>
          {(Object.keys(e.metadata ?? {}).length > 0 || e.correlation_id || e.client_ip) && (
            <details>
              <summary>More</summary>
              <dl className="kv kv-compact">
                {metadataPairs(e.metadata).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
                {e.client_ip && (
                  <div>
                    <dt>Client IP</dt>
                    <dd>{e.client_ip}</dd>
                  </div>
                )}
                {e.correlation_id && (
                  <div>
                    <dt>Correlation id</dt>
                    <dd>
                      <code>{e.correlation_id}</code>
                    </dd>
                  </div>
                )}
              </dl>
            </details>
          )}
        </div>
      ),
    },
  ];

  return (
    <Page
      title="Audit logs"
      subtitle="Every change, who made it and when."
      actions={
        <button
          type="button"
          className="button"
          onClick={async () => {
            await exporting.run();
          }}
          disabled={exporting.pending}
        >
          {exporting.pending ? 'Exporting…' : 'Export CSV'}
        </button>
      }
    >
      {exporting.error && <ErrorBox error={exporting.error} title="The export failed" compact />}
      {/* On a phone the eight filters fold behind one button; wider screens always show them. */}
      <button
        type="button"
        className="button filters-toggle"
        aria-expanded={filtersOpen}
        aria-controls="audit-filters"
        onClick={() => setFiltersOpen((o) => !o)}
      >
        {filtersOpen ? 'Hide filters' : `Filters${activeCount ? ` (${activeCount})` : ''}`}
      </button>
      <form
        id="audit-filters"
        className={`filters filters-audit${filtersOpen ? '' : ' filters-folded'}`}
        role="search"
        aria-label="Filter the audit log"
        onSubmit={apply}
      >
        <SelectFilter
          id="audit-category"
          label="Category"
          value={draft.category}
          onChange={(v) => setDraft({ ...draft, category: v })}
        >
          <option value="">All</option>
          {AUDIT_CATEGORIES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </SelectFilter>
        <div className="filter">
          <label htmlFor="audit-q">Find</label>
          <input
            id="audit-q"
            className="input"
            type="search"
            placeholder="e.g. force release"
            value={draft.q}
            onChange={(e) => setDraft({ ...draft, q: e.target.value })}
          />
        </div>
        <div className="filter">
          <label htmlFor="audit-action">Action</label>
          <input
            id="audit-action"
            className="input"
            list="audit-actions"
            placeholder="Any action, or a prefix: allocation."
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
          />
          <datalist id="audit-actions">
            {actions.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </datalist>
        </div>
        <SelectFilter
          id="audit-actor"
          label="Actor"
          value={draft.actor_user_id}
          onChange={(v) => setDraft({ ...draft, actor_user_id: v })}
        >
          <option value="">Anyone</option>
          {draft.actor_user_id && !users.map.has(draft.actor_user_id) && (
            <option value={draft.actor_user_id}>{shortId(draft.actor_user_id)}</option>
          )}
          {users.items.map((u) => (
            <option key={u.id} value={u.id}>
              {u.username}
            </option>
          ))}
        </SelectFilter>
        <SelectFilter
          id="audit-target-type"
          label="Target type"
          value={draft.target_type}
          onChange={(v) => setDraft({ ...draft, target_type: v })}
        >
          <option value="">Any type</option>
          {draft.target_type && !AUDIT_TARGET_TYPES.some((t) => t.value === draft.target_type) && (
            <option value={draft.target_type}>{draft.target_type}</option>
          )}
          {AUDIT_TARGET_TYPES.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </SelectFilter>
        <div className="filter">
          <label htmlFor="audit-target">Target id</label>
          <input
            id="audit-target"
            className="input"
            placeholder="User, node or allocation id"
            value={draft.target_id}
            onChange={(e) => setDraft({ ...draft, target_id: e.target.value })}
          />
        </div>
        <div className="filter">
          <label htmlFor="audit-since">From</label>
          <input
            id="audit-since"
            className="input"
            type="datetime-local"
            value={rfc3339ToLocalInput(draft.since)}
            onChange={(e) => setDraft({ ...draft, since: localInputToRFC3339(e.target.value) })}
          />
        </div>
        <div className="filter">
          <label htmlFor="audit-until">Until</label>
          <input
            id="audit-until"
            className="input"
            type="datetime-local"
            value={rfc3339ToLocalInput(draft.until)}
            onChange={(e) => setDraft({ ...draft, until: localInputToRFC3339(e.target.value) })}
          />
        </div>
        <div className="filter filter-buttons">
          <button type="submit" className="button primary">
            Apply
          </button>
          <button type="button" className="button ghost" onClick={clear} disabled={!filtered}>
            Clear
          </button>
        </div>
      </form>
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0}
        empty={
          <Empty
            title={filtered ? 'No entry matches' : 'The audit log is empty'}
            hint={filtered ? 'Nothing was recorded for these filters.' : 'Changes appear here as they are made.'}
          />
        }
      >
        {(d) => {
          const prefix = isPrefix(f.action) ? f.action.trim().replace(/\*$/, '') : '';
          // What a server that does not take category or action_prefix yet sends back is narrowed here.
          const rows = d.items.filter(
            (e) =>
              (!f.category || categoryOf(e.action) === f.category) &&
              (!prefix || e.action.startsWith(prefix)) &&
              matchesAudit(e, f.q),
          );
          // An older server sends no total.
          const total = (d as { total?: number }).total;
          return (
          <div className="list-block">
            <p className="list-count" data-testid="audit-count">
              {typeof total === 'number' ? `${total} ${total === 1 ? 'entry' : 'entries'} in all` : null}
              {typeof total === 'number' ? ' · ' : null}
              {rows.length === d.items.length
                ? `${rows.length} on this page`
                : `${rows.length} of ${d.items.length} on this page match`}
              {pager.page > 1 ? ` (page ${pager.page})` : ''}
            </p>
            <DataTable caption="Audit log entries" columns={columns} rows={rows} rowKey={(e) => String(e.id)} />
            <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
          </div>
          );
        }}
      </StateView>
    </Page>
  );
}
