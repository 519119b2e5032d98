// The allocation page's view of what it runs: the workload (app, image,
// command, ports), the image pull while it is provisioning, one row per app
// port with an Open button (through a one-time ticket), and the activity:
// the container's logs, followed live, and the workload's events.
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { api } from '../../api/client';
import { describeError, routeMissing, toApiError, type ApiError } from '../../api/errors';
import { useApiQuery, useGet, useMutate } from '../../api/query';
import type { Allocation, AllocationApp, AllocationEvent } from '../../api/types';
import { ErrorBox } from '../../components/ErrorBox';
import { Card } from '../../components/Page';
import { StatusPill, type Tone } from '../../components/StatusPill';
import { formatDateTime, formatRelative } from '../../lib/format';
import { streamLogs } from './logStream';
import { LineBuffer, SHELL, formatBytes, pullProgress, type PullProgress } from './workload';

/** The events' refresh: quick while the image pulls, slower while it runs, never once it is over. */
function eventsInterval(status: string): number | false {
  if (status === 'requested' || status === 'provisioning') return 2_000;
  if (status === 'releasing') return 5_000;
  if (status === 'active') return 15_000;
  return false;
}

const EVENT_PAGES = 10;

/** Every event of the allocation, oldest first (following next_cursor, at most 10 pages of 200). */
export function useAllocationEvents(a: Allocation) {
  return useApiQuery<AllocationEvent[]>(
    ['/api/v1/allocations/{allocation_id}/events', { allocation_id: a.id }, { all: true }],
    async (signal) => {
      const out: AllocationEvent[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < EVENT_PAGES; i++) {
        const page = await api.get('/api/v1/allocations/{allocation_id}/events', {
          path: { allocation_id: a.id },
          query: { page_size: 200, cursor },
          signal,
        });
        out.push(...page.items);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
      }
      return out;
    },
    { refetchInterval: eventsInterval(a.status) },
  );
}

export function isShell(a: Allocation): boolean {
  return !a.workload || a.workload.launchable === SHELL;
}

/** Whether the allocation runs a container (it has logs). */
export function runsContainer(a: Allocation): boolean {
  return a.workload?.runtime === 'docker';
}

// ---- the workload card ------------------------------------------------------

export function WorkloadCard({ a, events }: { a: Allocation; events: AllocationEvent[] | undefined }) {
  const w = a.workload;
  const catalogue = useGet('/api/v1/launchables', {});
  if (!w || isShell(a)) return null;
  const name = catalogue.data?.items.find((l) => l.id === w.launchable)?.name ?? w.launchable;
  const provisioning = a.status === 'requested' || a.status === 'provisioning';
  const pull = provisioning && events ? pullProgress(events) : null;
  // A server older than the apps field: the workload's ports, readiness unknown.
  const apps: (AllocationApp & { unknown?: boolean })[] =
    a.apps ?? (w.ports ?? []).map((p) => ({ name: p.name, port: p.port, url: '', ready: false, unknown: true }));
  return (
    <Card title="App">
      <dl className="facts workload-facts" data-testid="workload-summary">
        <div>
          <dt>Runs</dt>
          <dd>{name}</dd>
        </div>
        {w.image && (
          <div>
            <dt>Image</dt>
            <dd className="mono wrap-anywhere">{w.image}</dd>
          </div>
        )}
        {w.command && w.command.length > 0 && (
          <div>
            <dt>Command</dt>
            <dd className="mono wrap-anywhere">{w.command.map(quoteArg).join(' ')}</dd>
          </div>
        )}
        {w.env && Object.keys(w.env).length > 0 && (
          <div>
            <dt>Environment</dt>
            <dd className="mono wrap-anywhere">
              {Object.entries(w.env).map(([k, v]) => (
                <div key={k}>
                  {k}={v}
                </div>
              ))}
            </dd>
          </div>
        )}
        {w.params && Object.keys(w.params).length > 0 && (
          <div>
            <dt>Settings</dt>
            <dd className="mono wrap-anywhere">
              {Object.entries(w.params).map(([k, v]) => (
                <div key={k}>
                  {k}: {v}
                </div>
              ))}
            </dd>
          </div>
        )}
      </dl>
      {pull && <PullProgressBar pull={pull} />}
      {provisioning && !pull && (
        <p className="muted fine-print">Getting the container ready; its apps open once it is active.</p>
      )}
      <AppsList a={a} apps={apps} />
    </Card>
  );
}

/** An argument as a shell would need it to read it back as one. */
function quoteArg(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function PullProgressBar({ pull }: { pull: PullProgress }) {
  const { percent, done, total } = pull;
  const figures =
    done !== null && total !== null
      ? `${formatBytes(done)} of ${formatBytes(total)} (${percent}%)`
      : done !== null
        ? `${formatBytes(done)} so far`
        : 'Starting…';
  // Screen readers hear tenths, not every refresh.
  const spoken = percent !== null ? `Pulling the image: ${Math.floor(percent / 10) * 10}%` : 'Pulling the image';
  return (
    <div className="pull-progress" data-testid="pull-progress">
      <div className="pull-progress-head">
        <strong id="pull-progress-label">Pulling the image</strong>
        <span className="muted" data-testid="pull-figures">
          {figures}
        </span>
      </div>
      <div
        className={`progress${percent === null ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-labelledby="pull-progress-label"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={figures}
      >
        <div className="progress-fill" style={percent === null ? undefined : { width: `${percent}%` }} />
      </div>
      {pull.message && <p className="muted fine-print wrap-anywhere">{pull.message}</p>}
      <span className="sr-only" aria-live="polite">
        {spoken}
      </span>
    </div>
  );
}

function appBadge(a: Allocation, app: AllocationApp & { unknown?: boolean }): { status: string; label: string; tone: Tone } | null {
  if (a.status !== 'active') return { status: 'off', label: 'not running', tone: 'neutral' };
  if (app.unknown) return null;
  return app.ready ? { status: 'ready', label: 'ready', tone: 'success' } : { status: 'starting', label: 'starting', tone: 'info' };
}

function AppsList({ a, apps }: { a: Allocation; apps: (AllocationApp & { unknown?: boolean })[] }) {
  if (apps.length === 0) {
    return <p className="muted fine-print">This workload serves no app ports.</p>;
  }
  return (
    <section className="apps" aria-labelledby="apps-title">
      <h3 id="apps-title" className="apps-title">
        Apps
      </h3>
      <ul className="app-list" data-testid="apps">
        {apps.map((app) => (
          <AppRow key={app.name} a={a} app={app} />
        ))}
      </ul>
    </section>
  );
}

/** Opening goes through a one-time ticket: the tab is opened at once (a popup blocker allows that only in the click), then sent to the ticket's URL. */
export function AppRow({ a, app }: { a: Allocation; app: AllocationApp & { unknown?: boolean } }) {
  const ticket = useMutate(() =>
    api.post('/api/v1/allocations/{allocation_id}/apps/{port_name}/ticket', {
      path: { allocation_id: a.id, port_name: app.name },
    }),
  );
  const badge = appBadge(a, app);
  const active = a.status === 'active';
  const onOpen = async () => {
    ticket.reset();
    const tab = window.open('about:blank', '_blank');
    const t = await ticket.run();
    if (!t) {
      tab?.close();
      return;
    }
    if (tab) {
      try {
        tab.opener = null;
      } catch {
        // Some browsers do not let the opener be cleared; the ticket URL is same-origin anyway.
      }
      tab.location.href = t.url;
    } else {
      window.open(t.url, '_blank', 'noopener');
    }
  };
  const errorId = `app-${app.name}-error`;
  return (
    <li className="app-row" data-testid={`app-${app.name}`}>
      <div className="app-row-main">
        <strong>{app.name}</strong>
        <span className="muted mono">:{app.port}</span>
        {badge && <StatusPill status={badge.status} label={badge.label} tone={badge.tone} />}
      </div>
      <button
        type="button"
        className="button small primary"
        onClick={onOpen}
        disabled={!active || ticket.pending}
        aria-describedby={ticket.error ? errorId : undefined}
        aria-label={`Open ${app.name}`}
      >
        {ticket.pending ? 'Opening…' : 'Open'}
      </button>
      {ticket.error && (
        <p className="field-error app-row-error" id={errorId} role="alert">
          {ticketErrorText(ticket.error)}
        </p>
      )}
    </li>
  );
}

function ticketErrorText(err: ApiError): string {
  if (routeMissing(err)) return 'This server cannot open apps yet.';
  if (err.status === 409) return 'The app opens only while the allocation is active.';
  if (err.status === 404) return 'This app is not part of the allocation any more. Reload the page.';
  return `Could not open the app: ${describeError(err)}`;
}

// ---- activity: logs and events ---------------------------------------------------

type TabId = 'logs' | 'events';

export function ActivityCard({
  a,
  events,
}: {
  a: Allocation;
  events: { data: AllocationEvent[] | undefined; error: ApiError | undefined; reload: () => Promise<void> };
}) {
  const hasLogs = runsContainer(a);
  const [tab, setTab] = useState<TabId>(hasLogs ? 'logs' : 'events');
  const [logsOpened, setLogsOpened] = useState(hasLogs);
  const tabs: { id: TabId; label: string }[] = hasLogs
    ? [
        { id: 'logs', label: 'Logs' },
        { id: 'events', label: 'Events' },
      ]
    : [{ id: 'events', label: 'Events' }];
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const choose = (id: TabId) => {
    setTab(id);
    if (id === 'logs') setLogsOpened(true);
  };
  const onKey = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.id === tab);
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const t = tabs[(next + tabs.length) % tabs.length]!;
    choose(t.id);
    refs.current[t.id]?.focus();
  };
  if (!hasLogs) {
    return (
      <Card title="Events">
        <EventsPanel events={events} />
      </Card>
    );
  }
  return (
    <Card title="Activity">
      <div className="tabs" role="tablist" aria-label="Activity" onKeyDown={onKey}>
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className={`tab${tab === t.id ? ' selected' : ''}`}
            onClick={() => choose(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="panel-logs" aria-labelledby="tab-logs" hidden={tab !== 'logs'}>
        {/* Kept mounted once opened: the stream and what it read survive a look at the events. */}
        {logsOpened && <LogsPanel a={a} />}
      </div>
      <div role="tabpanel" id="panel-events" aria-labelledby="tab-events" hidden={tab !== 'events'}>
        <EventsPanel events={events} />
      </div>
    </Card>
  );
}

// ---- logs ------------------------------------------------------------------------

export const LOG_LINES = 5000;
const LOG_TAIL = 1000;

type LogPhase = 'waiting' | 'connecting' | 'following' | 'ended' | 'error';

/** The statuses in which the container has (or had) something to say. */
function logsAvailable(status: string): boolean {
  return status !== 'requested' && status !== 'provisioning';
}

export function LogsPanel({ a }: { a: Allocation }) {
  const canRead = logsAvailable(a.status);
  const following = a.status === 'active';
  const buf = useRef(new LineBuffer(LOG_LINES));
  const received = useRef(0);
  const [, setVersion] = useState(0);
  const [phase, setPhase] = useState<LogPhase>(canRead ? 'connecting' : 'waiting');
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [paused, setPaused] = useState<{ text: string; at: number } | null>(null);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    if (!canRead) {
      setPhase('waiting');
      return;
    }
    const ctrl = new AbortController();
    buf.current = new LineBuffer(LOG_LINES);
    received.current = 0;
    setVersion((v) => v + 1);
    setError(null);
    setPhase('connecting');
    let frame: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      frame = undefined;
      setVersion((v) => v + 1);
    };
    streamLogs(a.id, {
      tail: LOG_TAIL,
      follow: following,
      signal: ctrl.signal,
      onOpen: () => {
        if (!ctrl.signal.aborted) setPhase('following');
      },
      onText: (text) => {
        if (ctrl.signal.aborted) return;
        received.current += buf.current.push(text).length;
        setPhase('following');
        // At most ~10 renders a second, however fast the container writes.
        frame ??= setTimeout(flush, 100);
      },
    })
      .then(() => {
        if (ctrl.signal.aborted) return;
        buf.current.end();
        clearTimeout(frame);
        flush();
        setPhase('ended');
      })
      .catch((err: unknown) => {
        if (ctrl.signal.aborted) return;
        clearTimeout(frame);
        flush();
        setError(toApiError(err));
        setPhase('error');
      });
    return () => {
      ctrl.abort();
      clearTimeout(frame);
    };
  }, [a.id, canRead, following, attempt]);

  const live = buf.current.lines.join('\n') + (buf.current.pending ? `\n${buf.current.pending}` : '');
  const lines = buf.current.lines.length;
  const shown = paused ? paused.text : live;
  const newSincePause = paused ? received.current - paused.at : 0;

  // Auto-scroll: follow the end while the reader is at the end (and not paused).
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current && !paused) el.scrollTop = el.scrollHeight;
  });
  const onScroll = () => {
    const el = box.current;
    if (el) stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 24;
  };
  const togglePause = useCallback(() => {
    setPaused((p) => (p ? null : { text: live, at: received.current }));
    stick.current = true;
  }, [live]);

  let status: ReactNode;
  if (phase === 'waiting') status = 'Logs appear once the container has started.';
  else if (phase === 'connecting') status = 'Connecting to the node…';
  else if (phase === 'following') status = following ? (paused ? `Paused: ${newSincePause} new line${newSincePause === 1 ? '' : 's'} waiting.` : 'Following live.') : 'The container’s last lines.';
  else if (phase === 'ended') status = following ? 'The log stream ended (the container stopped, or the connection was closed).' : 'The container’s last lines.';
  else status = null;

  return (
    <div className="logs" data-testid="logs" data-phase={phase}>
      <div className="logs-bar">
        <p className="logs-status muted" aria-live="polite" data-testid="logs-status">
          {status}
          {buf.current.dropped > 0 && <> Showing the last {LOG_LINES.toLocaleString('en')} lines.</>}
        </p>
        <div className="logs-actions">
          {phase === 'following' && following && (
            <button type="button" className="button small" aria-pressed={!!paused} onClick={togglePause}>
              {paused ? 'Resume' : 'Pause'}
            </button>
          )}
          {(phase === 'ended' || phase === 'error') && (
            <button type="button" className="button small" onClick={() => setAttempt((n) => n + 1)}>
              {phase === 'error' ? 'Try again' : 'Reconnect'}
            </button>
          )}
        </div>
      </div>
      {phase === 'error' && error && <LogsError error={error} a={a} />}
      {(lines > 0 || buf.current.pending) && (
        <pre
          ref={box}
          className="log-box"
          tabIndex={0}
          aria-label={`Logs, ${lines} line${lines === 1 ? '' : 's'}`}
          onScroll={onScroll}
          data-testid="log-box"
        >
          {shown}
        </pre>
      )}
      {phase !== 'waiting' && phase !== 'connecting' && phase !== 'error' && lines === 0 && !buf.current.pending && (
        <p className="muted">No output yet.</p>
      )}
    </div>
  );
}

function LogsError({ error, a }: { error: ApiError; a: Allocation }) {
  if (error.status === 409) {
    return (
      <p className="notice" role="status" data-testid="logs-error" data-code={error.code}>
        {isShell(a)
          ? 'A shell allocation has no logs: what runs there is yours to see in the terminal or over SSH.'
          : 'There are no logs to read yet: the container has not started.'}
      </p>
    );
  }
  if (error.status === 503 || error.code === 'agent_disconnected') {
    return (
      <p className="notice notice-caution" role="alert" data-testid="logs-error" data-code={error.code}>
        The node cannot be reached right now, so its logs cannot be read. Try again in a moment.
      </p>
    );
  }
  if (routeMissing(error)) {
    return (
      <p className="notice" role="status" data-testid="logs-error" data-code={error.code}>
        This server does not serve logs yet.
      </p>
    );
  }
  return <ErrorBox error={error} title="The logs could not be read" compact />;
}

// ---- events -------------------------------------------------------------------------

function eventTone(e: AllocationEvent): Tone {
  switch (e.kind) {
    case 'failed':
    case 'oom_killed':
    case 'unhealthy':
      return 'danger';
    case 'exited':
      return e.exit_code === 0 ? 'neutral' : 'danger';
    case 'healthy':
    case 'started':
    case 'pulled':
      return 'success';
    case 'releasing':
      return 'warning';
    case 'removed':
      return 'neutral';
    default:
      return 'info';
  }
}

const KIND_LABELS: Record<string, string> = {
  oom_killed: 'out of memory',
};

/**
 * The events to list: a run of `pulling` progress updates shows as its
 * latest one (a long pull writes one every few seconds), with how many it
 * stands for.
 */
export function collapsePulls(events: readonly AllocationEvent[]): { e: AllocationEvent; updates: number }[] {
  const out: { e: AllocationEvent; updates: number }[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.kind === 'pulling' && last?.e.kind === 'pulling') out[out.length - 1] = { e, updates: last.updates + 1 };
    else out.push({ e, updates: 1 });
  }
  return out;
}

/** Oldest first (newest last), as the logs read. */
export function EventsPanel({
  events,
}: {
  events: { data: AllocationEvent[] | undefined; error: ApiError | undefined; reload: () => Promise<void> };
}) {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 30_000);
    return () => clearInterval(t);
  }, []);
  if (events.error && !events.data) {
    if (routeMissing(events.error)) return <p className="muted">This server does not record workload events.</p>;
    return <ErrorBox error={events.error} title="The events could not be loaded" onRetry={() => void events.reload()} compact />;
  }
  if (!events.data) return <p className="muted">Loading the events…</p>;
  if (events.data.length === 0) return <p className="muted">Nothing has happened yet.</p>;
  return (
    <ol className="event-list" data-testid="events" aria-label="Events, oldest first">
      {collapsePulls(events.data).map(({ e, updates }) => (
        <li key={e.id} className="event" data-kind={e.kind}>
          <div className="event-head">
            <StatusPill status={e.kind} label={KIND_LABELS[e.kind] ?? e.kind.replace(/_/g, ' ')} tone={eventTone(e)} />
            <time dateTime={e.created_at} title={formatDateTime(e.created_at)} className="event-time">
              {formatRelative(e.created_at, now)} <span className="muted">· {formatDateTime(e.created_at)}</span>
            </time>
          </div>
          <p className="event-message wrap-anywhere">
            {e.message}
            {e.kind === 'exited' && typeof e.exit_code === 'number' && <> (exit code {e.exit_code})</>}
            {typeof e.bytes_total === 'number' && e.bytes_total > 0 && typeof e.bytes_done === 'number' && (
              <span className="muted">
                {' '}
                · {formatBytes(e.bytes_done)} of {formatBytes(e.bytes_total)}
              </span>
            )}
            {updates > 1 && <span className="muted"> · the latest of {updates} progress updates</span>}
          </p>
        </li>
      ))}
    </ol>
  );
}
