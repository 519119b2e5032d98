// The live notifications of the signed-in user, for the whole app: the bell's
// unread count, the notifications centre, and screens that react to pushes.
//
//   useNotificationListener((n) => { if (n.type === 'allocation.status' && n.allocation_id === id) q.reload(); });
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  NotificationsClient,
  type ConnectionState,
  type ReceivedNotification,
} from '../api/notifications';
import { freshAccessToken } from '../api/session';
import * as retained from '../lib/retained';
import { useAuth } from './auth';

interface NotificationsValue {
  /** Newest first; the last 50 kept for this user (in this browser, across reloads). */
  messages: retained.Retained[];
  unread: number;
  markAllRead: () => void;
  dismiss: (id: string) => void;
  clearAll: () => void;
  connection: ConnectionState;
  client: NotificationsClient | null;
}

const Ctx = createContext<NotificationsValue>({
  messages: [],
  unread: 0,
  markAllRead: () => {},
  dismiss: () => {},
  clearAll: () => {},
  connection: 'idle',
  client: null,
});

const storage = typeof window === 'undefined' ? undefined : window.localStorage;

export function NotificationsProvider({ children }: { children: ReactNode }) {
  const { status, user } = useAuth();
  const [client, setClient] = useState<NotificationsClient | null>(null);
  const [messages, setMessages] = useState<retained.Retained[]>([]);
  const [connection, setConnection] = useState<ConnectionState>('idle');

  const userId = user?.id;
  // Every change to the kept list is written back for this user.
  const update = useCallback(
    (fn: (l: retained.Retained[]) => retained.Retained[]) =>
      setMessages((l) => {
        const next = fn(l);
        if (next !== l && userId) retained.saveRetained(storage, userId, next);
        return next;
      }),
    [userId],
  );
  useEffect(() => {
    if (status !== 'signed-in' || !userId) return;
    const c = new NotificationsClient({ getToken: () => freshAccessToken() });
    setClient(c);
    setMessages(retained.loadRetained(storage, userId));
    const offMsg = c.subscribe((n: ReceivedNotification) => update((l) => retained.addRetained(l, n)));
    const offState = c.onStateChange(setConnection);
    c.start();
    return () => {
      offMsg();
      offState();
      c.stop();
      setClient(null);
    };

  }, [status, userId, update]);

  const value = useMemo<NotificationsValue>(
    () => ({
      messages,
      unread: retained.unreadCount(messages),
      markAllRead: () => update(retained.markAllRead),
      dismiss: (id: string) => update((l) => retained.dismiss(l, id)),
      clearAll: () => update(() => []),
      connection,
      client,
    }),
    [messages, connection, client, update],
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
