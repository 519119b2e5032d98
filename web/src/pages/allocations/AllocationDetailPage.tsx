// One allocation: its status live (pushed over /ws/notifications, polled
// when the socket is down or the status is still moving), its details and
// timeline, the cost so far, what it runs (the image pull, its apps with an
// Open button), how to connect (ssh, gpuaas ssh), the browser terminal while
// it is active, its logs and events, and release with a confirmation; a
// banner while its node drains for maintenance (when it will be released).
import { Suspense, lazy, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { getKey, useGet, useMutate } from '../../api/query';
import type { Allocation } from '../../api/types';
import { useNotificationListener, useNotifications } from '../../app/notifications';
import { useAnnounce } from '../../components/Announcer';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { Loading, StateView } from '../../components/StateView';
import { AllocationStatusPills, StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import {
  allocationTitle,
  canRelease,
  describeReleaseReason,
  isEnded,
  isTransient,
  statusExplanation,
} from '../../features/user/allocations';
import { ActivityCard, WorkloadCard, runsContainer, useAllocationEvents } from '../../features/user/AllocationWorkload';
import { AllocationGpuCharts } from '../../features/telemetry/GpuCharts';
import { DrainBanner } from '../../features/user/DrainBanner';
import { formatDateTime, formatElapsed, formatMoney } from '../../lib/format';
import '../../features/user/user.css';

// xterm is most of the console's weight: load it when a terminal is opened.
const TerminalPanel = lazy(() => import('../../features/user/TerminalPanel').then((m) => ({ default: m.TerminalPanel })));

export function AllocationDetailPage() {
  const { id = '' } = useParams();
  const { connection } = useNotifications();
  const socketUp = connection === 'open';
  // Live status: pushes refetch it (app/cache.tsx, which also refetches after
  // a reconnect); polling when the socket is down, and (slower) while the
  // status is still moving, since delivery is at most once.
  const q = useGet(
    '/api/v1/allocations/{allocation_id}',
    { path: { allocation_id: id } },
    { refetchInterval: (d) => (!socketUp ? 3_000 : !d || isTransient(d.status) ? 10_000 : false) },
  );
  const a = q.data;
  const usage = useGet(
    '/api/v1/billing/usage',
    { query: { allocation_id: id, page_size: 1 } },
    { refetchInterval: a?.status === 'active' ? 30_000 : false },
  );
  const announce = useAnnounce();
  const pushed = useRef<string | null>(null);
  useNotificationListener((n) => {
    if (n.allocation_id === id && n.type === 'allocation.status' && n.status) pushed.current = n.status;
  });

  // Announce status changes found by polling (pushed ones the shell already announces).
  const lastStatus = useRef<string | null>(null);
  useEffect(() => {
    if (!a) return;
    if (lastStatus.current && lastStatus.current !== a.status) {
      if (pushed.current !== a.status) announce(`${allocationTitle(a)} is now ${a.status.replace(/_/g, ' ')}`);
      // Usage starts when it goes active and closes when it is released.
      void usage.reload();
    }
    lastStatus.current = a.status;
  }, [a, announce, usage.reload]);

  const [confirming, setConfirming] = useState(false);
  const toast = useToast();
  const qc = useQueryClient();
  const release = useMutate(
    () => api.post('/api/v1/allocations/{allocation_id}/release', { path: { allocation_id: id } }),
    {
      invalidates: ['/api/v1/allocations', '/api/v1/billing', '/api/v1/skus'],
      // Safe to show at once: a release is refused only when it is already
      // ending, and a refusal puts the old status back.
      optimistic: () => {
        const key = getKey('/api/v1/allocations/{allocation_id}', { path: { allocation_id: id } });
        const before = qc.getQueryData<Allocation>(key);
        if (before) qc.setQueryData<Allocation>(key, { ...before, status: 'releasing', connection: null });
        return () => qc.setQueryData(key, before);
      },
    },
  );
  const onRelease = async () => {
    const r = await release.run();
    if (!r) return;
    setConfirming(false);
    q.setData((prev) => ({ ...(prev ?? r), ...r, connection: null }) as Allocation);
    toast({ tone: 'success', title: 'Release requested', message: 'The GPUs are being given back; billing has stopped.' });
  };

  const title = a ? allocationTitle(a) : `Allocation ${id.slice(0, 8)}`;
  const cost = usage.data?.items[0];
  return (
    <Page
      title={title}
      subtitle={
        a ? (
          <span className="detail-subtitle">
            <StatusPill status={a.status} /> <span className="mono muted">{a.id}</span>
          </span>
        ) : undefined
      }
      breadcrumb={<Link to="/allocations">Allocations</Link>}
      actions={
        a &&
        canRelease(a.status) && (
          <button type="button" className="button danger" onClick={() => setConfirming(true)}>
            Release
          </button>
        )
      }
    >
      <StateView state={q} loadingLabel="Loading the allocation…">
        {(a) => (
          <>
            <DrainBanner a={a} />
            <StatusBanner a={a} />
            <div className="split-cards">
              <Card title="Details">
                <dl className="facts">
                  <div>
                    <dt>Status</dt>
                    <dd>
                      <AllocationStatusPills status={a.status} nodeStatus={a.node_status} nodeDraining={Boolean(a.node_drain_deadline)} />
                    </dd>
                  </div>
                  <div>
                    <dt>SKU</dt>
                    <dd>{a.sku_id}</dd>
                  </div>
                  <div>
                    <dt>Price</dt>
                    <dd>
                      <Money minor={a.price_per_hour_minor} currency={a.currency} /> per hour
                    </dd>
                  </div>
                  <div>
                    <dt>{cost?.ended_at || isEnded(a.status) ? 'Final cost' : 'Cost so far'}</dt>
                    <dd data-testid="cost-so-far">
                      {cost ? (
                        <>
                          <Money minor={cost.amount_minor} currency={cost.currency} />
                          <span className="muted"> {cost.ended_at ? 'in total' : 'and counting'}</span>
                        </>
                      ) : a.active_at ? (
                        <span className="muted">—</span>
                      ) : isEnded(a.status) ? (
                        <span className="muted">Nothing: it never ran.</span>
                      ) : (
                        <span className="muted">Nothing yet: billing starts when it is active.</span>
                      )}
                    </dd>
                  </div>
                  <div>
                    <dt>Node</dt>
                    <dd className="mono">{a.node_id ?? '—'}</dd>
                  </div>
                  <div>
                    <dt>
                      GPU{a.gpu_count === 1 ? '' : 's'} ({a.gpu_count})
                    </dt>
                    <dd>
                      {a.gpus.length > 0 ? (
                        <ul className="gpu-list" data-testid="gpu-uuids">
                          {a.gpus.map((g) => (
                            <li key={g.uuid}>
                              <span className="muted">#{g.index}</span> <code>{g.uuid}</code>
                            </li>
                          ))}
                        </ul>
                      ) : (
                        <span className="muted">None reserved</span>
                      )}
                    </dd>
                  </div>
                </dl>
              </Card>
              <Card title="Timeline">
                <Timeline a={a} />
              </Card>
            </div>
            <WorkloadSection a={a} />
            {a.status !== 'requested' && a.status !== 'provisioning' && (
              <AllocationGpuCharts allocationId={a.id} live={a.status === 'active' || a.status === 'releasing'} />
            )}
            <Card title="Connect">
              <ConnectionInfo a={a} />
            </Card>
            <TerminalCard a={a} />
            <ActivitySection a={a} />
          </>
        )}
      </StateView>
      <ConfirmDialog
        open={confirming}
        title="Release this allocation?"
        message={
          a ? (
            <>
              <strong>{title}</strong> gives its {a.gpu_count} GPU{a.gpu_count === 1 ? '' : 's'} back, its processes
              are stopped and billing stops. Files on the node are not kept.
            </>
          ) : undefined
        }
        confirmLabel="Release"
        danger
        pending={release.pending}
        error={release.error}
        onConfirm={onRelease}
        onCancel={() => {
          setConfirming(false);
          release.reset();
        }}
      />
    </Page>
  );
}

function WorkloadSection({ a }: { a: Allocation }) {
  const events = useAllocationEvents(a);
  return <WorkloadCard a={a} events={events.data} />;
}

function ActivitySection({ a }: { a: Allocation }) {
  // The same cached query as WorkloadSection's: one request for both.
  const events = useAllocationEvents(a);
  return <ActivityCard a={a} events={events} />;
}

function StatusBanner({ a }: { a: Allocation }) {
  const tone =
    a.status === 'active'
      ? 'success'
      : a.status === 'failed' || a.status === 'release_failed'
        ? 'danger'
        : a.status === 'released'
          ? 'neutral'
          : 'info';
  return (
    <div className={`status-banner status-banner-${tone}`} data-testid="status-banner" data-status={a.status}>
      <StatusPill status={a.status} />
      <div>
        <p>{statusExplanation(a.status, runsContainer(a))}</p>
        {a.failure_reason && (
          <p className="status-banner-detail">
            <strong>Why:</strong> {a.failure_reason}
          </p>
        )}
        {a.release_reason && (a.status === 'releasing' || a.status === 'released') && (
          <p className="status-banner-detail">{describeReleaseReason(a.release_reason)}</p>
        )}
        {a.node_status === 'offline' && a.status === 'active' && (
          <p className="status-banner-detail">
            <strong>The node stopped reporting.</strong> Your allocation keeps its GPUs for now; if the node does not
            come back it is released and billing stops.
          </p>
        )}
      </div>
    </div>
  );
}

/** The current time, ticking every `ms` while enabled (for "running for …"). */
function useNow(ms: number, enabled: boolean): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    if (!enabled) return;
    const t = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(t);
  }, [ms, enabled]);
  return now;
}

function Timeline({ a }: { a: Allocation }) {
  const now = useNow(1000, a.status === 'active');
  const steps: { label: string; at: string | null | undefined; hint?: string }[] = [
    { label: 'Requested', at: a.created_at },
    {
      label: a.status === 'failed' ? 'Failed' : 'Active',
      at: a.status === 'failed' ? a.updated_at : a.active_at,
      hint: a.active_at ? `after ${formatElapsed(a.created_at, a.active_at)}` : undefined,
    },
    {
      label: 'Released',
      at: a.released_at,
      hint: a.active_at && a.released_at ? `ran ${formatElapsed(a.active_at, a.released_at)}` : undefined,
    },
  ];
  return (
    <ol className="timeline">
      {steps.map((s) => (
        <li key={s.label} className={s.at ? 'done' : 'pending'}>
          <span className="timeline-dot" aria-hidden="true" />
          <div>
            <strong>{s.label}</strong>
            <div className="muted">
              {s.at ? formatDateTime(s.at) : 'Not yet'}
              {s.hint && <> · {s.hint}</>}
            </div>
          </div>
        </li>
      ))}
      {a.status === 'active' && a.active_at && (
        <li className="current">
          <span className="timeline-dot" aria-hidden="true" />
          <div>
            <strong>Running for {formatElapsed(a.active_at, null, now)}</strong>
            <div className="muted">at {formatMoney(a.price_per_hour_minor, a.currency)} per hour</div>
          </div>
        </li>
      )}
    </ol>
  );
}

function CommandLine({ label, command }: { label: string; command: string }) {
  return (
    <div className="command">
      <span className="command-label">{label}</span>
      <div className="command-row">
        <code className="command-text">{command}</code>
        <CopyButton text={command} label={`Copy: ${label}`} small />
      </div>
    </div>
  );
}

function ConnectionInfo({ a }: { a: Allocation }) {
  const cli = `gpuaas ssh ${a.id}`;
  if (a.status === 'active' && !a.connection && runsContainer(a)) {
    // No port is open for a container: the CLI reaches it over the node agent's connection.
    return (
      <div className="connect" data-testid="connection-container">
        <CommandLine label="A shell in the container (GPUaaS CLI)" command={cli} />
        <CommandLine label="ssh, scp and rsync: add Host entries to ~/.ssh/config" command="gpuaas config-ssh" />
        <p className="muted fine-print">
          Nothing listens on the node for it: both go through the GPUaaS control plane with your{' '}
          <Link to="/keys">SSH keys</Link>. Its apps open from the App card above.
        </p>
      </div>
    );
  }
  if (a.status !== 'active' || !a.connection) {
    return (
      <p className="muted">
        {a.status === 'requested' || a.status === 'provisioning'
          ? 'Connection details appear here as soon as the allocation is active.'
          : 'This allocation is not running, so there is nothing to connect to.'}
      </p>
    );
  }
  const c = a.connection;
  return (
    <div className="connect" data-testid="connection">
      <CommandLine label="SSH" command={c.ssh_command} />
      <CommandLine label="GPUaaS CLI (no SSH key needed)" command={cli} />
      <dl className="facts facts-inline">
        <div>
          <dt>Host</dt>
          <dd className="mono">{c.host}</dd>
        </div>
        <div>
          <dt>Port</dt>
          <dd className="mono">{c.port}</dd>
        </div>
        <div>
          <dt>User</dt>
          <dd className="mono">{c.username}</dd>
        </div>
      </dl>
      <p className="muted fine-print">
        ssh uses the public keys from <Link to="/keys">SSH keys</Link>; one you add now reaches this allocation within
        seconds, unless it was started with a chosen set of keys.
      </p>
    </div>
  );
}

function TerminalCard({ a }: { a: Allocation }) {
  const [open, setOpen] = useState(false);
  const active = a.status === 'active';
  return (
    <Card
      title="Terminal"
      actions={
        active &&
        !open && (
          <button type="button" className="button primary small" onClick={() => setOpen(true)}>
            Open terminal
          </button>
        )
      }
    >
      {open ? (
        <Suspense fallback={<Loading label="Loading the terminal…" />}>
          <TerminalPanel allocationId={a.id} active={active} />
        </Suspense>
      ) : active ? (
        <p className="muted">
          {runsContainer(a)
            ? 'A shell inside the container in your browser, with its GPUs. No SSH key needed.'
            : "A shell on the node in your browser, with this allocation's GPUs. No SSH key needed."}
        </p>
      ) : (
        <p className="muted">The terminal is available while the allocation is active.</p>
      )}
    </Card>
  );
}
