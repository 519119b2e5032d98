// Top-ups: the preset amounts offered, parsing a custom amount typed in major
// units (exactly, never through a float: features/admin/amount), and what a
// payment's status means to the user.
import type { PaymentStatus, PaymentsConfig } from '../../api/types';
import { parseAmount } from '../admin/amount';
import { currencyDigits, formatMoney } from '../../lib/format';

/** Preset top-ups in major units; those outside the operator's range are left out. */
const PRESETS_MAJOR = [10, 25, 50, 100, 250];

export function presets(cfg: Pick<PaymentsConfig, 'currency' | 'min_minor' | 'max_minor'>): number[] {
  const unit = 10 ** currencyDigits(cfg.currency);
  return PRESETS_MAJOR.map((m) => m * unit).filter((v) => v >= cfg.min_minor && v <= cfg.max_minor);
}

export type ParsedTopup = { ok: true; minor: number } | { ok: false; error: string };

/** A custom amount: positive, within the operator's range. */
export function parseTopup(input: string, cfg: Pick<PaymentsConfig, 'currency' | 'min_minor' | 'max_minor'>): ParsedTopup {
  if (/^\s*-/.test(input)) return { ok: false, error: 'Enter a positive amount.' };
  const p = parseAmount(input, currencyDigits(cfg.currency));
  if (!p.ok) return p;
  if (p.minor < cfg.min_minor || p.minor > cfg.max_minor) {
    return {
      ok: false,
      error: `Between ${formatMoney(cfg.min_minor, cfg.currency)} and ${formatMoney(cfg.max_minor, cfg.currency)}.`,
    };
  }
  return { ok: true, minor: p.minor };
}

const outcomes: Record<PaymentStatus, string> = {
  pending: 'Waiting for the payment. Some payment methods take a few days; the credit is added when it arrives.',
  succeeded: 'Paid: the credit is on your balance.',
  failed: 'The payment failed; nothing was charged.',
  expired: 'The checkout expired before it was paid; nothing was charged.',
  refunded: 'Paid, then refunded in full.',
  partially_refunded: 'Paid, then refunded in part.',
  disputed: 'Disputed with your bank: the disputed amount is held until the dispute ends.',
  failed_reconcile: 'The payment did not match what was ordered, so no credit was added. An administrator will look at it.',
};

/** What a status means, for the return page and the history. */
export function paymentOutcome(s: PaymentStatus): string {
  return outcomes[s];
}

export function statusLabel(s: PaymentStatus): string {
  return s === 'failed_reconcile' ? 'under review' : s.replace(/_/g, ' ');
}
