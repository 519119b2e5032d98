import { describe, expect, it } from 'vitest';
import { dayRange, spendSeries } from './spend';

describe('spendSeries', () => {
  it('fills every day, stacks SKUs largest first and keeps one currency', () => {
    const s = spendSeries(
      [
        { day: '2026-03-01', sku_id: 'h100-x1', currency: 'USD', amount_minor: 100 },
        { day: '2026-03-03', sku_id: 'h100-x8', currency: 'USD', amount_minor: 800 },
        { day: '2026-03-03', sku_id: 'h100-x1', currency: 'USD', amount_minor: 50 },
        { day: '2026-03-02', sku_id: 'a100', currency: 'EUR', amount_minor: 5 },
      ],
      '2026-03-01',
      3,
    );
    expect(s.currency).toBe('USD');
    expect(s.otherCurrencies).toEqual(['EUR']);
    expect(s.skus).toEqual(['h100-x8', 'h100-x1']);
    expect(s.days.map((d) => d.total)).toEqual([100, 0, 850]);
    expect(s.days[2]!.parts).toEqual([
      { sku: 'h100-x8', minor: 800 },
      { sku: 'h100-x1', minor: 50 },
    ]);
    expect(s.max).toBe(850);
    expect(s.total).toBe(950);
  });

  it('is empty without charges', () => {
    const s = spendSeries([], '2026-03-01', 30);
    expect(s.currency).toBeNull();
    expect(s.days).toHaveLength(30);
    expect(s.max).toBe(0);
  });

  it('counts UTC days across a month end', () => {
    expect(dayRange('2026-02-27', 3)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });
});
