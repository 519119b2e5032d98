// The admin types a balance adjustment in major units ("12.34", "-5",
// "1,000.50"); the API takes integer minor units. The string is parsed digit
// by digit with BigInt, never through a float, so "0.1" is exactly 10 cents
// and "19.99" exactly 1999.

/** The API's bound on one adjustment (AdjustBalanceRequest.amount_minor), either way. */
export const MAX_ADJUSTMENT_MINOR = 10n ** 12n;

export type ParsedAmount = { ok: true; minor: number } | { ok: false; error: string };

const PLAIN = /^(\d+)(?:\.(\d*))?$|^\.(\d+)$/;
const GROUPED = /^(\d{1,3}(?:,\d{3})+)(?:\.(\d*))?$/;

/**
 * parseAmount("12.34", 2) → {ok, minor: 1234}; parseAmount("-5", 2) → -500.
 * A leading + or - sets the direction; commas are accepted only as thousands
 * separators; more fraction digits than the currency has is an error, not a
 * rounding.
 */
export function parseAmount(input: string, digits: number): ParsedAmount {
  let s = input.trim().replace(/\s+/g, '');
  if (s === '') return { ok: false, error: 'Enter an amount.' };
  let negative = false;
  if (s[0] === '+' || s[0] === '-') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  let whole: string;
  let frac: string;
  const grouped = GROUPED.exec(s);
  const plain = PLAIN.exec(s);
  if (grouped) {
    whole = grouped[1]!.replace(/,/g, '');
    frac = grouped[2] ?? '';
  } else if (plain) {
    whole = plain[1] ?? '0';
    frac = plain[2] ?? plain[3] ?? '';
  } else if (/^[\d.,]+$/.test(s) && s.includes(',')) {
    return { ok: false, error: 'Use a dot for decimals, e.g. 12.34.' };
  } else {
    return { ok: false, error: 'Enter a number such as 12.34 or -5.' };
  }
  if (frac.length > digits) {
    return {
      ok: false,
      error: digits === 0 ? 'This currency has no fractional units.' : `At most ${digits} digits after the dot.`,
    };
  }
  const minor = BigInt(whole) * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0');
  if (minor === 0n) return { ok: false, error: 'The amount cannot be zero.' };
  if (minor > MAX_ADJUSTMENT_MINOR) return { ok: false, error: 'That is more than one adjustment may move.' };
  return { ok: true, minor: Number(negative ? -minor : minor) };
}
