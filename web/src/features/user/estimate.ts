// What creating an allocation will cost, shown in the marketplace's create
// dialog. Everything is integer minor units and whole seconds: the only
// division is the floor in runwaySeconds (lib/format.ts).
import type { Balance, SKU } from '../../api/types';
import { runwaySeconds } from '../../lib/format';

/** The server's default --min-runway: credit for this long at the SKU's price is required to create. */
export const MIN_RUNWAY_SECONDS = 600;

export interface CreateEstimate {
  currency: string;
  perHourMinor: number;
  perDayMinor: number;
  /** Balance minus usage not yet debited: what is really left. */
  availableMinor: number;
  /** How long what is left lasts at this SKU's price alone; null when the price is zero. */
  runwayAlone: number | null;
  /** The same, adding what already runs (null when nothing else runs). */
  runwayWithRunning: number | null;
  /** The runs-now burn rate plus this SKU's price. */
  totalPerHourMinor: number;
  /** The currencies differ: no runway can be computed. */
  currencyMismatch: boolean;
  /** Below the server's default minimum runway: creating will likely be refused (402). */
  likelyRefused: boolean;
}

export function estimateCreate(sku: Pick<SKU, 'price_per_hour_minor' | 'currency'>, balance?: Balance): CreateEstimate {
  const perHour = sku.price_per_hour_minor;
  const base = {
    currency: sku.currency,
    perHourMinor: perHour,
    perDayMinor: perHour * 24,
    totalPerHourMinor: perHour,
  };
  if (!balance || balance.currency !== sku.currency) {
    return {
      ...base,
      availableMinor: 0,
      runwayAlone: null,
      runwayWithRunning: null,
      currencyMismatch: !!balance,
      likelyRefused: false,
    };
  }
  const available = balance.balance_minor - balance.unbilled_minor;
  const running = balance.burn_rate_per_hour_minor;
  const alone = runwaySeconds(available, perHour);
  return {
    ...base,
    availableMinor: available,
    totalPerHourMinor: perHour + running,
    runwayAlone: alone,
    runwayWithRunning: running > 0 ? runwaySeconds(available, perHour + running) : null,
    currencyMismatch: false,
    likelyRefused: alone !== null && alone < MIN_RUNWAY_SECONDS,
  };
}
