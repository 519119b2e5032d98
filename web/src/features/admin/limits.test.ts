import { describe, expect, it } from 'vitest';
import { limitText, parseGpuLimit, parseMoneyLimit } from './limits';

describe('spend limit inputs', () => {
  it('blank is the platform default', () => {
    expect(parseGpuLimit('  ')).toEqual({ ok: true, value: null });
    expect(parseMoneyLimit('', 2)).toEqual({ ok: true, value: null });
  });
  it('parses GPUs as whole numbers', () => {
    expect(parseGpuLimit('8')).toEqual({ ok: true, value: 8 });
    expect(parseGpuLimit('0')).toEqual({ ok: true, value: 0 });
    expect(parseGpuLimit('1.5').ok).toBe(false);
    expect(parseGpuLimit('-1').ok).toBe(false);
  });
  it('parses money into minor units without floats', () => {
    expect(parseMoneyLimit('1500', 2)).toEqual({ ok: true, value: 150000 });
    expect(parseMoneyLimit('19.99', 2)).toEqual({ ok: true, value: 1999 });
    expect(parseMoneyLimit('0', 2)).toEqual({ ok: true, value: 0 });
    expect(parseMoneyLimit('-5', 2).ok).toBe(false);
    expect(parseMoneyLimit('1.234', 2).ok).toBe(false);
  });
  it('renders minor units back for the input', () => {
    expect(limitText(150000, 2)).toBe('1500.00');
    expect(limitText(5, 2)).toBe('0.05');
    expect(limitText(null, 2)).toBe('');
    expect(limitText(700, 0)).toBe('700');
  });
});
