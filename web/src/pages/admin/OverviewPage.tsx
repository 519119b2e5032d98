// The platform at a glance: users, nodes, GPUs, allocations by status and the
// last 24 h of usage revenue. Refreshes every 10 s (paused while the tab is
// hidden, or by the admin); the "updated" stamp is not a live region, so a
// screen reader hears only pause/resume and errors, not every tick.
import { useState } from 'react';
import { Link } from 'react-router';
import { useGet } from '../../api/query';
import type { Overview } from '../../api/types';
import { useAnnounce } from '../../components/Announcer';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { ALLOCATION_STATUSES } from '../../api/enums.gen';
import '../../features/admin/admin.css';

export const OVERVIEW_REFRESH_MS = 10_000;

const ALLOCATION_ORDER: readonly string[] = ALLOCATION_STATUSES;

function timeOfDay(d: Date): string {
  return new Intl.DateTimeFormat('en-US', { timeStyle: 'medium' }).format(d);
}

export function OverviewPage() {
  const [paused, setPaused] = useState(false);
  const announce = useAnnounce();
  const q = useGet('/api/v1/admin/overview', {}, { refetchInterval: paused ? false : OVERVIEW_REFRESH_MS });

  const toggle = () => {
    const next = !paused;
    setPaused(next);
    announce(next ? 'Auto-refresh paused' : 'Auto-refresh resumed');
    if (!next) void q.reload();
  };

  return (
    <Page
      title="Overview"
      subtitle="The platform at a glance."
      actions={
        <div className="refresh-control">
          <span className="refresh-stamp" data-testid="last-updated">
            {q.updatedAt ? (
              <>
                Updated <time dateTime={q.updatedAt.toISOString()}>{timeOfDay(q.updatedAt)}</time>
              </>
            ) : (
              'Loading…'
            )}
            {paused ? ' · paused' : ' · every 10 s'}
          </span>
          <button type="button" className="button small" onClick={toggle} aria-pressed={paused}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button
            type="button"
            className="button small ghost"
            onClick={() => void q.reload()}
            disabled={q.loading}
          >
            Refresh now
          </button>
        </div>
      }
    >
      <StateView state={q}>{(o) => <OverviewCards o={o} />}</StateView>
    </Page>
  );
}

function n(map: Record<string, number>, key: string): number {
  return map[key] ?? 0;
}

export function OverviewCards({ o }: { o: Overview }) {
  const gpuInService = o.gpus.free + o.gpus.allocated;
  const utilisation = gpuInService > 0 ? Math.round((o.gpus.allocated * 100) / gpuInService) : 0;
  const nodesTotal = n(o.nodes, 'online') + n(o.nodes, 'offline');
  const allocStatuses = [
    ...ALLOCATION_ORDER,
    ...Object.keys(o.allocations).filter((s) => !ALLOCATION_ORDER.includes(s)),
  ];
  const running = ['requested', 'provisioning', 'active', 'releasing'].reduce((s, k) => s + n(o.allocations, k), 0);
  return (
    <div className="overview">
      <div className="grid overview-stats">
        <div className="stat">
          <div className="stat-label">Users</div>
          <div className="stat-value">{o.users}</div>
          <div className="stat-hint">
            <Link to="/admin/users">Manage users</Link>
          </div>
        </div>
        <div className="stat">
          <div className="stat-label">Nodes online</div>
          <div className="stat-value">
            {n(o.nodes, 'online')}
            <span className="stat-of"> / {nodesTotal}</span>
          </div>
          <div className="stat-hint">
            {n(o.nodes, 'offline')} offline · {n(o.nodes, 'disabled')} disabled
            {n(o.nodes, 'maintenance') > 0 && <> · {n(o.nodes, 'maintenance')} in maintenance</>}
          </div>
        </div>
        <div className="stat">
          <div className="stat-label">GPUs allocated</div>
          <div className="stat-value">
            {o.gpus.allocated}
            <span className="stat-of"> / {gpuInService}</span>
          </div>
          <div
            className="meter"
            role="meter"
            aria-label="GPU utilisation"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={utilisation}
          >
            <span style={{ width: `${utilisation}%` }} />
          </div>
          <div className="stat-hint">
            {utilisation}% in use · {o.gpus.free} free
          </div>
        </div>
        <div className="stat">
          <div className="stat-label">Revenue, last 24 h</div>
          <div className="stat-value">
            {o.revenue_24h.length === 0 ? (
              <Money minor={0} currency="USD" />
            ) : (
              o.revenue_24h.map((m) => (
                <div key={m.currency}>
                  <Money minor={m.amount_minor} currency={m.currency} />
                </div>
              ))
            )}
          </div>
          <div className="stat-hint">Usage charged to users</div>
        </div>
      </div>

      <div className="overview-panels">
        <Card title="Allocations by status" actions={<Link to="/admin/allocations">All allocations</Link>}>
          <p className="muted overview-lead">{running} running or in transition</p>
          <ul className="count-list">
            {allocStatuses.map((s) => (
              <li key={s}>
                <Link to={`/admin/allocations?status=${s}`}>
                  <StatusPill status={s} />
                  <span className="count">{n(o.allocations, s)}</span>
                </Link>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Fleet health" actions={<Link to="/admin/nodes">All nodes</Link>}>
          <ul className="count-list">
            <li>
              <Link to="/admin/nodes?status=online">
                <StatusPill status="online" />
                <span className="count">{n(o.nodes, 'online')}</span>
              </Link>
            </li>
            <li>
              <Link to="/admin/nodes?status=offline">
                <StatusPill status="offline" />
                <span className="count">{n(o.nodes, 'offline')}</span>
              </Link>
            </li>
            <li>
              <Link to="/admin/nodes?state=disabled">
                <StatusPill status="disabled" />
                <span className="count">{n(o.nodes, 'disabled')}</span>
              </Link>
            </li>
            <li>
              <Link to="/admin/nodes?state=maintenance">
                <StatusPill status="maintenance" />
                <span className="count">{n(o.nodes, 'maintenance')}</span>
              </Link>
            </li>
            <li>
              <span className="count-row">
                <StatusPill status="unhealthy" label="unhealthy GPUs" tone={o.gpus.unhealthy > 0 ? 'danger' : 'neutral'} />
                <span className="count">{o.gpus.unhealthy}</span>
              </span>
            </li>
          </ul>
        </Card>
      </div>
    </div>
  );
}
