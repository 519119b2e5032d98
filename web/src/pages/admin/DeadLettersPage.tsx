// Dead letters: events a consumer gave up on after its retries, newest first
// (GET /api/v1/admin/dead-letters). What failed, for which consumer and why,
// so an administrator can tell a one-off from a pattern; docs/operations.md
// says what to do about them.
import { useGet } from '../../api/query';
import type { components } from '../../api/schema';
import { DataTable, type Column } from '../../components/DataTable';
import { Page } from '../../components/Page';
import { Pagination, useUrlCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { formatDateTime, formatRelative } from '../../lib/format';
import '../../features/admin/admin.css';

type DeadLetter = components['schemas']['DeadLetter'];

const columns: Column<DeadLetter>[] = [
  {
    key: 'when',
    header: 'When',
    render: (d) => (
      <time dateTime={d.created_at} title={formatDateTime(d.created_at)}>
        {formatRelative(d.created_at)}
      </time>
    ),
  },
  { key: 'consumer', header: 'Consumer', render: (d) => <code>{d.consumer}</code> },
  {
    key: 'subject',
    header: 'Event',
    render: (d) => (
      <div className="cell-stack">
        <code>{d.subject}</code>
        <span className="muted mono">{d.event_id}</span>
      </div>
    ),
  },
  { key: 'deliveries', header: 'Tries', align: 'right', render: (d) => d.deliveries },
  { key: 'error', header: 'Last error', render: (d) => <span className="dead-letter-error">{d.error}</span> },
];

export function DeadLettersPage() {
  const pager = useUrlCursorPager();
  const q = useGet('/api/v1/admin/dead-letters', { query: { cursor: pager.cursor, page_size: 50 } }, { refetchInterval: 30_000 });
  return (
    <Page title="Dead letters" subtitle="Events a consumer gave up on after its retries, newest first.">
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0}
        empty={<Empty title="No dead letters" hint="Every event so far was handled." />}
      >
        {(d) => (
          <div className="list-block">
            <DataTable caption="Dead letters" columns={columns} rows={d.items} rowKey={(x) => String(x.id)} />
            <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
          </div>
        )}
      </StateView>
    </Page>
  );
}
