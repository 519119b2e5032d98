import { describe, expect, it } from 'vitest';
import type { Balance } from '../api/types';
import { isLow } from './balance';

const base: Balance = {
  user_id: 'u',
  balance_minor: 10000,
  currency: 'USD',
  unbilled_minor: 0,
  burn_rate_per_hour_minor: 0,
  runway_seconds: null,
};

describe('isLow', () => {
  it('warns under the server threshold or below zero, not for an idle empty balance', () => {
    expect(isLow(base)).toBe(false);
    expect(isLow({ ...base, burn_rate_per_hour_minor: 2000, runway_seconds: 1799 })).toBe(true);
    expect(isLow({ ...base, burn_rate_per_hour_minor: 2000, runway_seconds: 1800 })).toBe(false);
    expect(isLow({ ...base, balance_minor: 0 })).toBe(false);
    expect(isLow({ ...base, balance_minor: 100, unbilled_minor: 150 })).toBe(true);
  });
});
