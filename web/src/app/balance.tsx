// The signed-in user's balance, shared by the low-balance banner, the
// marketplace (how long the balance lasts) and billing. Reloaded every
// minute, and at once when a billing notification arrives.
import { createContext, useContext, type ReactNode } from 'react';
import { api } from '../api/client';
import { useApi, usePolling, type ApiState } from '../api/hooks';
import type { Balance } from '../api/types';
import { useNotificationListener } from './notifications';

/** The server's own alert threshold (billing.low_balance_runway_seconds, docs/billing.md). */
export const LOW_RUNWAY_SECONDS = 1800;

const Ctx = createContext<ApiState<Balance> | null>(null);

export function BalanceProvider({ children }: { children: ReactNode }) {
  const balance = useApi((signal) => api.get('/api/v1/billing/balance', { signal }), []);
  usePolling(balance.reload, 60_000);
  useNotificationListener((n) => {
    if (n.type === 'billing.low_balance' || n.type === 'billing.balance_credited') void balance.reload();
    if (n.type === 'allocation.status') void balance.reload();
  });
  return <Ctx.Provider value={balance}>{children}</Ctx.Provider>;
}

export function useBalance(): ApiState<Balance> {
  const b = useContext(Ctx);
  if (!b) throw new Error('useBalance outside <BalanceProvider>');
  return b;
}

/**
 * Whether to warn: running allocations will use up the balance within the
 * server's threshold, or the balance is already below zero. An empty balance
 * with nothing running is not a warning (creating an allocation says so).
 */
export function isLow(b: Balance): boolean {
  if (b.balance_minor - b.unbilled_minor < 0) return true;
  return b.runway_seconds != null && b.runway_seconds < LOW_RUNWAY_SECONDS;
}
