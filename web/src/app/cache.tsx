// Keeps the query cache honest: what a notification says changed is refetched,
// everything is refetched after the notifications socket reconnects (nothing
// is replayed, so a push may have been missed), and the cache is emptied
// when the signed-in user changes, so one account never sees another's data.
import { QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { Notification } from '../api/notifications';
import { createQueryClient, invalidate } from '../api/query';
import { useAuth } from './auth';
import { useNotificationListener, useNotifications } from './notifications';
import { resetStorageUploads } from '../features/user/storageUploads';

export function QueryProvider({ children }: { children: ReactNode }) {
  const [client] = useState(() => createQueryClient());
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

/** The path prefixes a notification makes stale. */
export function stalePaths(n: Pick<Notification, 'type'>): string[] {
  const always = ['/api/v1/notifications'];
  switch (n.type) {
    case 'allocation.status':
      return [...always, '/api/v1/allocations', '/api/v1/billing', '/api/v1/skus', '/api/v1/admin'];
    case 'billing.low_balance':
    case 'billing.auto_release_pending':
    case 'billing.balance_depleted':
    case 'billing.balance_credited':
    case 'payment.succeeded':
    case 'payment.failed':
    case 'payment.refunded':
      return [...always, '/api/v1/billing', '/api/v1/admin/users'];
    case 'node.offline':
    case 'node.draining':
    case 'gpu.unhealthy':
      return [...always, '/api/v1/allocations', '/api/v1/skus', '/api/v1/admin'];
    default:
      return always;
  }
}

export function CacheKeeper() {
  const qc = useQueryClient();
  const { user } = useAuth();
  const { connection } = useNotifications();
  const userId = user?.id ?? null;
  const lastUser = useRef<string | null>(userId);
  useEffect(() => {
    if (lastUser.current !== userId) {
      if (lastUser.current !== null) {
        qc.clear();
        // The last user's uploads stop and leave the list with them.
        resetStorageUploads();
      }
      lastUser.current = userId;
    }
  }, [qc, userId]);

  const wasOpen = useRef(false);
  const wasDown = useRef(false);
  useEffect(() => {
    if (connection === 'open') {
      if (wasOpen.current && wasDown.current) void qc.invalidateQueries();
      wasOpen.current = true;
      wasDown.current = false;
    } else if (wasOpen.current) {
      wasDown.current = true;
    }
  }, [qc, connection]);

  useNotificationListener((n) => void invalidate(qc, ...stalePaths(n)));
  return null;
}
