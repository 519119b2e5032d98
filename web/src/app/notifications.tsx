// The live notifications of the signed-in user, for the whole app: the bell's
// unread count, the notifications centre, and screens that react to pushes.
//
//   useNotificationListener((n) => { if (n.type === 'allocation.status' && n.allocation_id === id) q.reload(); });
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  NotificationsClient,
  type ConnectionState,
  type ReceivedNotification,
} from '../api/notifications';
import { freshAccessToken } from '../api/session';
import { useAuth } from './auth';

interface NotificationsValue {
  /** Newest first; the last 50 received since sign-in (nothing is replayed by the server). */
  messages: ReceivedNotification[];
  unread: number;
  markAllRead: () => void;
  connection: ConnectionState;
  client: NotificationsClient | null;
}

const Ctx = createContext<NotificationsValue>({
  messages: [],
  unread: 0,
  markAllRead: () => {},
  connection: 'idle',
  client: null,
});

export function NotificationsProvider({ children }: { children: ReactNode }) {
  const { status, user } = useAuth();
  const [client, setClient] = useState<NotificationsClient | null>(null);
  const [messages, setMessages] = useState<ReceivedNotification[]>([]);
  const [readCount, setReadCount] = useState(0);
  const [total, setTotal] = useState(0);
  const [connection, setConnection] = useState<ConnectionState>('idle');

  const userId = user?.id;
  useEffect(() => {
    if (status !== 'signed-in' || !userId) return;
    const c = new NotificationsClient({ getToken: () => freshAccessToken() });
    setClient(c);
    setMessages([]);
    setTotal(0);
    setReadCount(0);
    const offMsg = c.subscribe(() => {
      setMessages(c.messages);
      setTotal((t) => t + 1);
    });
    const offState = c.onStateChange(setConnection);
    c.start();
    return () => {
      offMsg();
      offState();
      c.stop();
      setClient(null);
    };
  }, [status, userId]);

  const value = useMemo<NotificationsValue>(
    () => ({
      messages,
      unread: Math.min(total - readCount, messages.length),
      markAllRead: () => setReadCount(total),
      connection,
      client,
    }),
    [messages, total, readCount, connection, client],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useNotifications(): NotificationsValue {
  return useContext(Ctx);
}

/** Calls `fn` for every new notification while the component is mounted. */
export function useNotificationListener(fn: (n: ReceivedNotification) => void): void {
  const { client } = useNotifications();
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (!client) return;
    return client.subscribe((n) => fnRef.current(n));
  }, [client]);
}

/** Short text for a notification, for the bell, the centre and announcements. */
export function describeNotification(n: ReceivedNotification): string {
  const id = n.allocation_id ? n.allocation_id.slice(0, 8) : '';
  switch (n.type) {
    case 'allocation.status':
      return `Allocation ${id} is ${n.status ?? 'updated'}`;
    case 'node.offline':
      return `The node of allocation ${id} went offline`;
    case 'billing.low_balance':
      return 'Your balance is running low';
    case 'billing.balance_credited':
      return 'Credit was added to your balance';
    default:
      return n.type;
  }
}
