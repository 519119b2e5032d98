import { describe, expect, it } from 'vitest';
import type { Balance } from '../api/types';
import { balanceAlert, isLow } from './balance';

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

describe('balanceAlert', () => {
  it('is depleted below zero, or at zero while something runs, or when the server said so', () => {
    expect(balanceAlert({ ...base, balance_minor: -1 })).toBe('depleted');
    expect(balanceAlert({ ...base, balance_minor: 100, unbilled_minor: 100, runway_seconds: 0 })).toBe('depleted');
    expect(balanceAlert({ ...base, balance_minor: 0, runway_seconds: null }, 'depleted')).toBe('depleted');
  });
  it('is low when the runway is short or the server warned, and nothing otherwise', () => {
    expect(balanceAlert({ ...base, balance_minor: 1000, runway_seconds: 600 })).toBe('low');
    expect(balanceAlert({ ...base, balance_minor: 1000, runway_seconds: 7200 }, 'low')).toBe('low');
    expect(balanceAlert({ ...base, balance_minor: 1000, runway_seconds: 7200 })).toBeNull();
    expect(balanceAlert({ ...base, balance_minor: 0, runway_seconds: null })).toBeNull();
    // Credit landed after a depletion notice: nothing to warn of.
    expect(balanceAlert({ ...base, balance_minor: 5000, runway_seconds: null }, 'depleted')).toBeNull();
  });
});
