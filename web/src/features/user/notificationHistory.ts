// Notifications kept on the server (issue 11, item 4):
//
//   GET  /api/v1/notifications?cursor=&unread=  → {items: [{id, kind, title, body, allocation_id, created_at, read_at}], next_cursor, unread_count}
//   POST /api/v1/notifications/read {ids} | {all: true}
//
// Every browser then shows the same history and the same unread count. An
// older server without these routes (routeMissing) answers null here, and
// the console keeps to the notifications this browser received (lib/retained.ts).
import { api } from '../../api/client';
import { routeMissing, toApiError } from '../../api/errors';
import { getKey, useApiQuery, useMutate, type ApiState } from '../../api/query';
import type { NotificationList, StoredNotification } from '../../api/types';

export type { StoredNotification };
export type NotificationHistory = NotificationList;

export const NOTIFICATIONS_PATH = '/api/v1/notifications';

/** The history page at cursor; null when the server has no history route. */
export async function fetchHistory(
  query: { cursor?: string; unread?: boolean },
  signal?: AbortSignal,
): Promise<NotificationHistory | null> {
  try {
    return await api.get('/api/v1/notifications', { query: { cursor: query.cursor, unread: query.unread || undefined }, signal });
  } catch (err) {
    const e = toApiError(err);
    if (routeMissing(e)) return null;
    throw e;
  }
}

/** The history (first page unless cursor), in the cache under the GET's own key; data null when the server keeps none. */
export function useNotificationHistory(cursor?: string, enabled = true): ApiState<NotificationHistory | null> {
  return useApiQuery(getKey(NOTIFICATIONS_PATH, { query: { cursor } }), (signal) => fetchHistory({ cursor }, signal), {
    refetchInterval: 60_000,
    enabled,
  });
}

/** Marks some or all notifications read, at once in the cache (undone if the server refuses). */
export function useMarkRead() {
  return useMutate(
    async (what: { ids: string[] } | { all: true }) => {
      await api.post('/api/v1/notifications/read', { body: what });
      return true;
    },
    {
      invalidates: [NOTIFICATIONS_PATH],
      optimistic: (qc, what) => {
        const snapshot = qc.getQueriesData<NotificationHistory | null>({ queryKey: [NOTIFICATIONS_PATH] });
        const now = new Date().toISOString();
        for (const [key, page] of snapshot) {
          if (!page) continue;
          const hit = (n: StoredNotification) => 'all' in what || what.ids.includes(n.id);
          const marked = page.items.filter((n) => !n.read_at && hit(n)).length;
          qc.setQueryData(key, {
            ...page,
            items: page.items.map((n) => (!n.read_at && hit(n) ? { ...n, read_at: now } : n)),
            unread_count: 'all' in what ? 0 : Math.max(0, page.unread_count - marked),
          });
        }
        return () => snapshot.forEach(([key, page]) => qc.setQueryData(key, page));
      },
    },
  );
}
