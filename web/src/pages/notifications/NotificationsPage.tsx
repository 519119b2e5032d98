// The notifications centre. Where the server keeps notifications
// (GET /api/v1/notifications), its history, paged, the same in every browser;
// otherwise what the server pushed to this browser (newest first, the last
// 50 kept across reloads), in words, with a link to what each one concerns;
// each can be dismissed, or all cleared. Opening it marks everything read, so
// the bell's count and this list agree; the ones that were unread on arrival
// stay marked "New" while you are here.
import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { useNotifications } from '../../app/notifications';
import { Icon } from '../../components/Icon';
import { Page } from '../../components/Page';
import { Empty } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useAnnounce } from '../../components/Announcer';
import type { ApiState } from '../../api/query';
import { viewNotification } from '../../app/notificationText';
import { ErrorBox } from '../../components/ErrorBox';
import { Pagination, useCursorPager, type CursorPager } from '../../components/Pagination';
import { StateView } from '../../components/StateView';
import { AllocationName, useAllocationNames } from '../../features/user/AllocationName';
import {
  useMarkRead,
  useNotificationHistory,
  type NotificationHistory,
} from '../../features/user/notificationHistory';
import { formatDateTime, formatRelative } from '../../lib/format';
import '../../features/user/user.css';

const connectionText = {
  open: { label: 'Live', tone: 'success', hint: 'New notifications appear here as they happen.' },
  connecting: { label: 'Connecting', tone: 'info', hint: 'Connecting to the live feed…' },
  closed: { label: 'Reconnecting', tone: 'warning', hint: 'The live feed dropped; reconnecting. Pages reload what they show meanwhile.' },
  idle: { label: 'Offline', tone: 'neutral', hint: 'The live feed is not connected.' },
} as const;

export function NotificationsPage() {
  const pager = useCursorPager();
  const history = useNotificationHistory(pager.cursor);
  // A server that keeps notifications: its history, the same in every browser.
  if (history.data) return <ServerHistory history={history} pager={pager} />;
  // Still asking, or a server without history (null): what this browser received.
  return <LocalNotifications checking={history.data === undefined && history.loading} />;
}

function ServerHistory({ history, pager }: { history: ApiState<NotificationHistory | null>; pager: CursorPager }) {
  const { connection } = useNotifications();
  const markRead = useMarkRead();
  const page = history.data;
  const unreadCount = page?.unread_count ?? 0;
  // The ids that were unread when they reached this page stay marked "New" while you are here.
  const fresh = useRef(new Set<string>());
  for (const n of page?.items ?? []) if (!n.read_at) fresh.current.add(n.id);
  const { run } = markRead;
  useEffect(() => {
    if (unreadCount > 0) void run({ all: true });
  }, [unreadCount, run]);
  const c = connectionText[connection];
  return (
    <Page
      title="Notifications"
      subtitle="What happened to your allocations and balance, kept for your account."
      actions={<StatusPill status={connection} label={c.label} tone={c.tone} />}
    >
      <p className="muted fine-print" data-testid="feed-state">
        {c.hint} The same history shows in every browser you sign in with.
      </p>
      {markRead.error && <ErrorBox error={markRead.error} compact />}
      <StateView
        state={history}
        isEmpty={(d) => !d || d.items.length === 0}
        empty={
          <Empty
            title="No notifications yet"
            hint="You will be told here when an allocation becomes active, fails or is released, when a node goes offline or into maintenance, and when your balance runs low or is credited."
          />
        }
      >
        {(d) => (
          <>
            <ul className="notification-list" aria-label="Notifications, newest first" data-testid="server-notifications">
              {(d?.items ?? []).map((n) => {
                const isNew = fresh.current.has(n.id);
                const tone = toneOfKind(n.kind);
                return (
                  <li key={n.id} className={`notification notification-${tone}${isNew ? ' is-new' : ''}`}>
                    <span className="notification-icon" aria-hidden="true">
                      <Icon name={n.kind.startsWith('billing') ? 'billing' : n.kind.startsWith('node') ? 'warning' : 'alloc'} />
                    </span>
                    <div className="notification-body">
                      <p className="notification-title">
                        {isNew && <span className="new-badge">New</span>}
                        <strong>{n.title}</strong>
                      </p>
                      {n.body && <p className="muted">{n.body}</p>}
                      <p className="notification-meta">
                        <time dateTime={n.created_at} title={formatDateTime(n.created_at)}>
                          {formatRelative(n.created_at)}
                        </time>
                        {n.allocation_id && (
                          <>
                            {' · '}
                            <Link to={`/allocations/${n.allocation_id}`}>
                              Open <AllocationName id={n.allocation_id} />
                            </Link>
                          </>
                        )}
                      </p>
                    </div>
                  </li>
                );
              })}
            </ul>
            <Pagination pager={pager} nextCursor={d?.next_cursor || undefined} disabled={history.loading} />
          </>
        )}
      </StateView>
    </Page>
  );
}

/** A tone for a stored notification's kind ("allocation.failed", "billing.low_balance" …). */
export function toneOfKind(kind: string): 'success' | 'info' | 'warning' | 'danger' {
  if (/failed|lost|unhealthy/.test(kind)) return 'danger';
  if (/low_balance|offline|draining|maintenance|suspend|released_balance|balance_depleted/.test(kind)) return 'warning';
  if (/active|credited/.test(kind)) return 'success';
  return 'info';
}

function LocalNotifications({ checking }: { checking: boolean }) {
  const { messages, unread, markAllRead, dismiss, clearAll, connection } = useNotifications();
  const announce = useAnnounce();
  const names = useAllocationNames();
  // The ids that were unread when they reached this page.
  const fresh = useRef(new Set<string>());
  for (const m of messages.slice(0, unread)) fresh.current.add(m.id);
  useEffect(() => {
    if (unread > 0 && !checking) markAllRead();
  }, [unread, markAllRead, checking]);

  const c = connectionText[connection];
  return (
    <Page
      title="Notifications"
      subtitle="What happened to your allocations and balance while you were signed in."
      actions={
        <>
          <StatusPill status={connection} label={c.label} tone={c.tone} />
          {messages.length > 0 && (
            <button
              type="button"
              className="button small"
              onClick={() => {
                clearAll();
                announce('All notifications cleared');
              }}
            >
              Clear all
            </button>
          )}
        </>
      }
    >
      <p className="muted fine-print" data-testid="feed-state">
        {c.hint} The latest 50 are kept in this browser, newest first.
      </p>
      {messages.length === 0 ? (
        <Empty
          title="No notifications yet"
          hint="You will be told here when an allocation becomes active, fails or is released, when a node goes offline or into maintenance, and when your balance runs low or is credited."
          action={
            <Link to="/allocations" className="button">
              See your allocations
            </Link>
          }
        />
      ) : (
        <ul className="notification-list" aria-label="Notifications, newest first">
          {messages.map((m) => {
            const v = viewNotification(m, m.allocation_id ? names?.get(m.allocation_id) : undefined);
            const isNew = fresh.current.has(m.id);
            return (
              <li key={m.id} className={`notification notification-${v.tone}${isNew ? ' is-new' : ''}`}>
                <span className="notification-icon" aria-hidden="true">
                  <Icon name={m.type.startsWith('billing') ? 'billing' : m.type.startsWith('node.') ? 'warning' : 'alloc'} />
                </span>
                <div className="notification-body">
                  <p className="notification-title">
                    {isNew && <span className="new-badge">New</span>}
                    <strong>{v.title}</strong>
                  </p>
                  <p className="muted">{v.detail}</p>
                  <p className="notification-meta">
                    <time dateTime={m.receivedAt.toISOString()} title={formatDateTime(m.receivedAt)}>
                      {formatRelative(m.receivedAt)}
                    </time>
                    {v.href && (
                      <>
                        {' · '}
                        <Link to={v.href}>{v.linkLabel}</Link>
                      </>
                    )}
                  </p>
                </div>
                <button
                  type="button"
                  className="button ghost small notification-dismiss"
                  aria-label={`Dismiss: ${v.title}`}
                  onClick={() => {
                    dismiss(m.id);
                    announce('Notification dismissed');
                  }}
                >
                  Dismiss
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </Page>
  );
}
