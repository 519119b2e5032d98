// The notifications centre: what the server pushed (newest first, the last
// 50 kept in this browser across reloads), in words, with a link to what
// each one concerns; each can be dismissed, or all cleared. Opening it
// marks everything read, so the bell's count and this list agree; the ones
// that were unread on arrival stay marked "New" while you are here.
import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { useNotifications } from '../../app/notifications';
import { Icon } from '../../components/Icon';
import { Page } from '../../components/Page';
import { Empty } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useAnnounce } from '../../components/Announcer';
import { viewNotification } from '../../app/notificationText';
import { useAllocationNames } from '../../features/user/AllocationName';
import { formatDateTime, formatRelative } from '../../lib/format';
import '../../features/user/user.css';

const connectionText = {
  open: { label: 'Live', tone: 'success', hint: 'New notifications appear here as they happen.' },
  connecting: { label: 'Connecting', tone: 'info', hint: 'Connecting to the live feed…' },
  closed: { label: 'Reconnecting', tone: 'warning', hint: 'The live feed dropped; reconnecting. Pages reload what they show meanwhile.' },
  idle: { label: 'Offline', tone: 'neutral', hint: 'The live feed is not connected.' },
} as const;

export function NotificationsPage() {
  const { messages, unread, markAllRead, dismiss, clearAll, connection } = useNotifications();
  const announce = useAnnounce();
  const names = useAllocationNames();
  // The ids that were unread when they reached this page.
  const fresh = useRef(new Set<string>());
  for (const m of messages.slice(0, unread)) fresh.current.add(m.id);
  useEffect(() => {
    if (unread > 0) markAllRead();
  }, [unread, markAllRead]);

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
          hint="You will be told here when an allocation becomes active, fails or is released, when a node goes offline, and when your balance runs low or is credited."
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
                  <Icon name={m.type.startsWith('billing') ? 'billing' : m.type === 'node.offline' ? 'warning' : 'alloc'} />
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
