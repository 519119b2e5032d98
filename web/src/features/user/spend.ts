// The daily spend chart's data: GET /api/v1/billing/daily-spend answers one
// item per UTC day, SKU and currency (days without charges left out); the
// chart wants every day of the range, one stacked bar per day, the SKUs in a
// fixed order, and one currency (the one with the most spend).
import type { DailySpendItem } from '../../api/types';

export interface SpendDay {
  day: string; // YYYY-MM-DD (UTC)
  total: number; // minor units
  parts: { sku: string; minor: number }[]; // in `skus` order, zero parts left out
}

export interface SpendSeries {
  currency: string | null;
  skus: string[]; // largest total first
  days: SpendDay[];
  max: number; // the largest day's total
  total: number;
  /** Currencies other than `currency` that had charges (not drawn). */
  otherCurrencies: string[];
}

/** Every UTC day from `since` for `count` days, as YYYY-MM-DD. */
export function dayRange(since: string, count: number): string[] {
  const start = Date.parse(`${since}T00:00:00Z`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(new Date(start + i * 86_400_000).toISOString().slice(0, 10));
  return out;
}

export function spendSeries(items: DailySpendItem[], since: string, count: number): SpendSeries {
  const byCurrency = new Map<string, number>();
  for (const it of items) byCurrency.set(it.currency, (byCurrency.get(it.currency) ?? 0) + it.amount_minor);
  const currencies = [...byCurrency.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const currency = currencies[0]?.[0] ?? null;
  const mine = items.filter((it) => it.currency === currency);
  const skuTotals = new Map<string, number>();
  for (const it of mine) skuTotals.set(it.sku_id, (skuTotals.get(it.sku_id) ?? 0) + it.amount_minor);
  const skus = [...skuTotals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([s]) => s);
  const days = dayRange(since, count).map((day) => {
    const parts = skus
      .map((sku) => ({
        sku,
        minor: mine.filter((it) => it.day === day && it.sku_id === sku).reduce((n, it) => n + it.amount_minor, 0),
      }))
      .filter((p) => p.minor !== 0);
    return { day, parts, total: parts.reduce((n, p) => n + p.minor, 0) };
  });
  return {
    currency,
    skus,
    days,
    max: days.reduce((m, d) => Math.max(m, d.total), 0),
    total: days.reduce((n, d) => n + d.total, 0),
    otherCurrencies: currencies.slice(1).map(([c]) => c),
  };
}
