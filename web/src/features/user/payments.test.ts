import { describe, expect, it } from 'vitest';
import { parseTopup, presets, statusLabel } from './payments';

const cfg = { currency: 'USD', min_minor: 500, max_minor: 10_000 };

describe('top-ups', () => {
  it('offers the presets inside the operator’s range', () => {
    expect(presets(cfg)).toEqual([1000, 2500, 5000, 10000]);
    expect(presets({ currency: 'JPY', min_minor: 100, max_minor: 60 })).toEqual([]);
  });
  it('parses a custom amount exactly, in range and positive', () => {
    expect(parseTopup('19.99', cfg)).toEqual({ ok: true, minor: 1999 });
    expect(parseTopup('0.1', { ...cfg, min_minor: 1 })).toEqual({ ok: true, minor: 10 });
    expect(parseTopup('4.99', cfg).ok).toBe(false);
    expect(parseTopup('100.01', cfg).ok).toBe(false);
    expect(parseTopup('-20', cfg)).toEqual({ ok: false, error: 'Enter a positive amount.' });
    expect(parseTopup('12.345', cfg).ok).toBe(false);
  });
  it('says failed_reconcile gently', () => {
    expect(statusLabel('failed_reconcile')).toBe('under review');
    expect(statusLabel('partially_refunded')).toBe('partially refunded');
  });
});
