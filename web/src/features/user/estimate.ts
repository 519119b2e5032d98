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
  /** How long what is left lasts with what already runs plus this SKU: the runway to show; null when nothing burns. */
  runway: number | null;
  /** Credit the server asks for to create: MIN_RUNWAY_SECONDS at the total burn rate (rounded up, as the server does). */
  requiredMinor: number;
  /** The currencies differ: no runway can be computed. */
  currencyMismatch: boolean;
  /** Less credit than requiredMinor: creating will be refused (402 insufficient_funds). */
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
      runway: null,
      requiredMinor: minRunwayCharge(perHour, MIN_RUNWAY_SECONDS),
      currencyMismatch: !!balance,
      likelyRefused: false,
    };
  }
  const available = balance.balance_minor - balance.unbilled_minor;
  const running = balance.burn_rate_per_hour_minor;
  const alone = runwaySeconds(available, perHour);
  const total = perHour + running;
  const required = minRunwayCharge(total, MIN_RUNWAY_SECONDS);
  return {
    ...base,
    availableMinor: available,
    totalPerHourMinor: total,
    runwayAlone: alone,
    runwayWithRunning: running > 0 ? runwaySeconds(available, total) : null,
    runway: runwaySeconds(available, total),
    requiredMinor: required,
    currencyMismatch: false,
    likelyRefused: total > 0 && available < required,
  };
}

/** ceil(price per hour × seconds / 3600): the server's minRunwayCharge (internal/allocation). */
export function minRunwayCharge(perHourMinor: number, seconds: number): number {
  return Math.ceil((perHourMinor * seconds) / 3600);
}
