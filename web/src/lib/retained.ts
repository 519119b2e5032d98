// The notifications a user keeps: what the server pushed (it replays
// nothing after a reconnect or a reload), retained in localStorage per user
// so the centre and the bell survive a page reload, newest first, at most
// `max`, each with its read flag. Only ids, types and statuses are stored,
// never a token.
import type { ReceivedNotification } from '../api/notifications';

export interface Retained extends ReceivedNotification {
  read: boolean;
}

export const RETAIN_MAX = 50;

export function storageKey(userId: string): string {
  return `gpuaas.notifications.${userId}`;
}

/** Reads the retained list; anything unreadable is an empty list. */
export function loadRetained(storage: Storage | undefined, userId: string): Retained[] {
  try {
    const raw = storage?.getItem(storageKey(userId));
    if (!raw) return [];
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((x): x is Record<string, unknown> => !!x && typeof x === 'object' && typeof x.id === 'string' && typeof x.type === 'string')
      .map((x) => ({ ...(x as unknown as Retained), receivedAt: new Date(String(x.receivedAt)), read: x.read === true }))
      .filter((x) => !Number.isNaN(x.receivedAt.getTime()))
      .slice(0, RETAIN_MAX);
  } catch {
    return [];
  }
}

export function saveRetained(storage: Storage | undefined, userId: string, list: Retained[]): void {
  try {
    storage?.setItem(storageKey(userId), JSON.stringify(list.slice(0, RETAIN_MAX)));
  } catch {
    // A full or disabled storage only costs persistence across reloads.
  }
}

/** Adds a new notification on top, unread, unless its id is already kept. */
export function addRetained(list: Retained[], n: ReceivedNotification, max = RETAIN_MAX): Retained[] {
  if (list.some((x) => x.id === n.id)) return list;
  return [{ ...n, read: false }, ...list].slice(0, max);
}

export function markAllRead(list: Retained[]): Retained[] {
  return list.some((x) => !x.read) ? list.map((x) => (x.read ? x : { ...x, read: true })) : list;
}

export function dismiss(list: Retained[], id: string): Retained[] {
  return list.filter((x) => x.id !== id);
}

export function unreadCount(list: Retained[]): number {
  return list.reduce((n, x) => n + (x.read ? 0 : 1), 0);
}
