import { describe, expect, it } from 'vitest';
import { parseAmount } from './amount';

describe('parseAmount', () => {
  it.each([
    ['12.34', 2, 1234],
    ['+12.34', 2, 1234],
    ['-5', 2, -500],
    ['0.1', 2, 10],
    ['19.99', 2, 1999],
    ['0.07', 2, 7],
    ['.5', 2, 50],
    ['7.', 2, 700],
    ['1,000.50', 2, 100050],
    ['  -1,234,567  ', 2, -123456700],
    ['1500', 0, 1500],
    ['1.234', 3, 1234],
    ['10000000000.00', 2, 1_000_000_000_000],
  ])('%s with %i digits is %i minor units', (input, digits, minor) => {
    expect(parseAmount(input, digits)).toEqual({ ok: true, minor });
  });

  it('never goes through a float', () => {
    // 1.005 * 100 is 100.49999999999999 in floating point.
    expect(parseAmount('1.00', 2)).toEqual({ ok: true, minor: 100 });
    expect(parseAmount('4.35', 2)).toEqual({ ok: true, minor: 435 });
    expect(parseAmount('1.13', 2)).toEqual({ ok: true, minor: 113 });
  });

  it.each([
    ['', 'Enter an amount.'],
    ['abc', 'Enter a number such as 12.34 or -5.'],
    ['1e3', 'Enter a number such as 12.34 or -5.'],
    ['--5', 'Enter a number such as 12.34 or -5.'],
    ['12,5', 'Use a dot for decimals, e.g. 12.34.'],
    ['1.234', 'At most 2 digits after the dot.'],
    ['0', 'The amount cannot be zero.'],
    ['-0.00', 'The amount cannot be zero.'],
    ['10000000000.01', 'That is more than one adjustment may move.'],
  ])('rejects %j', (input, error) => {
    expect(parseAmount(input, 2)).toEqual({ ok: false, error });
  });

  it('rejects fractions for a currency without minor units', () => {
    expect(parseAmount('1.5', 0)).toEqual({ ok: false, error: 'This currency has no fractional units.' });
  });
});
