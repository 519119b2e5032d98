// Admin: every team (slug, name, members) and, on a team's page, its
// balance with an audited credit or debit, as for a user
// (POST /api/v1/admin/teams/{slug}/balance).
import { Link, useParams } from 'react-router';
import { api } from '../../api/client';
import { useGet } from '../../api/query';
import type { Team } from '../../api/types';
import { DataTable, type Column } from '../../components/DataTable';
import { Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { AdjustBalanceCard } from '../../features/admin/AdjustBalanceCard';
import { formatDateTime } from '../../lib/format';
import '../../features/admin/admin.css';

const PAGE_SIZE = 50;

const columns: Column<Team>[] = [
  {
    key: 'team',
    header: 'Team',
    render: (t) => (
      <div className="cell-stack">
        <Link to={`/admin/teams/${t.slug}`}>{t.name}</Link>
        <span className="muted mono">{t.slug}</span>
      </div>
    ),
  },
  { key: 'members', header: 'Members', align: 'right', render: (t) => t.member_count },
  { key: 'created', header: 'Created', hideOnMobile: true, render: (t) => formatDateTime(t.created_at) },
];

export function TeamsAdminPage() {
  const pager = useCursorPager();
  const teams = useGet('/api/v1/admin/teams', { query: { cursor: pager.cursor, page_size: PAGE_SIZE } });
  return (
    <Page title="Teams" subtitle="Every team; open one to credit or debit its balance.">
      <StateView
        state={teams}
        isEmpty={(d) => d.items.length === 0}
        empty={<Empty title="No teams yet" hint="People create teams from their Teams page." />}
      >
        {(d) => (
          <>
            <DataTable caption="Teams" columns={columns} rows={d.items} rowKey={(t) => t.slug} />
            <Pagination pager={pager} nextCursor={d.next_cursor} />
          </>
        )}
      </StateView>
    </Page>
  );
}

export function TeamAdminPage() {
  const { slug = '' } = useParams();
  const balance = useGet('/api/v1/admin/teams/{slug}/balance', { path: { slug } });
  return (
    <Page title={`Team ${slug}`} breadcrumb={<Link to="/admin/teams">Teams</Link>}>
      <div className="detail-grid">
        <AdjustBalanceCard
          who={slug}
          balance={balance}
          currencyHint={undefined}
          post={(minor, reason, key) =>
            api.post('/api/v1/admin/teams/{slug}/balance', {
              path: { slug },
              body: { amount_minor: minor, reason },
              headers: { 'Idempotency-Key': key },
            })
          }
          onAdjusted={(b) => balance.setData(b)}
        />
      </div>
    </Page>
  );
}
