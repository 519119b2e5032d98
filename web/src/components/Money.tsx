import { formatMoney } from '../lib/format';

/** An amount in integer minor units of `currency` (as the API sends it). */
export function Money({ minor, currency, signed = false }: { minor: number; currency: string; signed?: boolean }) {
  const tone = signed ? (minor < 0 ? ' negative' : minor > 0 ? ' positive' : '') : '';
  return <span className={`money${tone}`}>{formatMoney(minor, currency, { signed })}</span>;
}
