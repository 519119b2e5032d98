import { describe, expect, it } from 'vitest';
import type { Balance } from '../../api/types';
import { estimateCreate } from './estimate';

const balance = (b: Partial<Balance>): Balance => ({
  user_id: 'u',
  balance_minor: 10_000,
  currency: 'USD',
  unbilled_minor: 0,
  burn_rate_per_hour_minor: 0,
  runway_seconds: null,
  ...b,
});

describe('estimateCreate', () => {
  const sku = { price_per_hour_minor: 249, currency: 'USD' };

  it('gives the price per hour and per day in minor units', () => {
    const e = estimateCreate(sku, balance({}));
    expect(e.perHourMinor).toBe(249);
    expect(e.perDayMinor).toBe(5976);
  });

  it('computes how long the balance lasts with integer math, rounded down', () => {
    // USD 100 at USD 2.49/h: 10000 * 3600 / 249 = 144578.31… s
    const e = estimateCreate(sku, balance({}));
    expect(e.runwayAlone).toBe(144578);
    expect(e.runwayWithRunning).toBeNull();
    expect(e.likelyRefused).toBe(false);
  });

  it('subtracts unbilled usage and adds what already runs', () => {
    const e = estimateCreate(sku, balance({ unbilled_minor: 1000, burn_rate_per_hour_minor: 1992 }));
    expect(e.availableMinor).toBe(9000);
    expect(e.runwayAlone).toBe(Math.floor((9000 * 3600) / 249));
    expect(e.runwayWithRunning).toBe(Math.floor((9000 * 3600) / (249 + 1992)));
    expect(e.totalPerHourMinor).toBe(2241);
  });

  it('counts what already runs in the runway and in the credit the server asks for', () => {
    const e = estimateCreate(sku, balance({ balance_minor: 500, burn_rate_per_hour_minor: 2751 }));
    expect(e.runway).toBe(Math.floor((500 * 3600) / 3000));
    expect(e.requiredMinor).toBe(500); // 3000/h for 600 s
    expect(e.likelyRefused).toBe(false);
    expect(estimateCreate(sku, balance({ balance_minor: 499, burn_rate_per_hour_minor: 2751 })).likelyRefused).toBe(true);
    expect(estimateCreate(sku, balance({ balance_minor: 0 })).likelyRefused).toBe(true);
  });

  it('warns when the balance covers less than the minimum runway', () => {
    expect(estimateCreate(sku, balance({ balance_minor: 40 })).likelyRefused).toBe(true); // 578 s
    expect(estimateCreate(sku, balance({ balance_minor: 42 })).likelyRefused).toBe(false); // 607 s
    expect(estimateCreate(sku, balance({ balance_minor: -5 })).runwayAlone).toBe(0);
  });

  it('computes no runway across currencies or without a balance', () => {
    expect(estimateCreate(sku, balance({ currency: 'EUR' })).currencyMismatch).toBe(true);
    const none = estimateCreate(sku);
    expect(none.runwayAlone).toBeNull();
    expect(none.currencyMismatch).toBe(false);
  });

  it('handles a free SKU', () => {
    expect(estimateCreate({ price_per_hour_minor: 0, currency: 'USD' }, balance({})).runwayAlone).toBeNull();
  });
});
