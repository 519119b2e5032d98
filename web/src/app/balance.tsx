// The signed-in user's balance, shared through the query cache by the
// low-balance banner, the top bar, the marketplace (how long the balance
// lasts) and billing. Refetched every minute, and at once after a billing or
// allocation notification (app/cache.tsx) or a mutation that moves money.
import { useGet, type ApiState } from '../api/query';
import type { Balance } from '../api/types';
import { teamQuery, useAccount } from './account';

/** The server's own alert threshold (billing.low_balance_runway_seconds, docs/billing.md). */
export const LOW_RUNWAY_SECONDS = 1800;

/** The balance of the account the console acts for (yours or a team's). */
export function useBalance(): ApiState<Balance> {
  const { team } = useAccount();
  return useGet('/api/v1/billing/balance', { query: teamQuery(team) }, { refetchInterval: 60_000 });
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

export type BalanceAlert = 'low' | 'depleted' | null;

/**
 * Which banner to show: `depleted` when what is available is below zero, or
 * at zero while something runs, or the server said the balance ran out
 * (billing.balance_depleted); `low` when isLow or the server warned
 * (billing.low_balance, billing.auto_release_pending); otherwise none.
 */
export function balanceAlert(b: Balance, notified: BalanceAlert = null): BalanceAlert {
  const left = b.balance_minor - b.unbilled_minor;
  if (left < 0 || (left <= 0 && b.runway_seconds != null) || (notified === 'depleted' && left <= 0)) return 'depleted';
  if (notified === 'low' || isLow(b)) return 'low';
  return null;
}
