// The admin's spend-limits form: each field blank means "the platform
// default" (null); GPUs are a whole number, money is typed in major units
// of the user's currency and sent as integer minor units (parseAmount, never
// through a float).
import { parseAmount } from './amount';

export type ParsedLimit = { ok: true; value: number | null } | { ok: false; error: string };

export function parseGpuLimit(input: string): ParsedLimit {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  if (!/^\d{1,6}$/.test(s)) return { ok: false, error: 'A whole number of GPUs, e.g. 8, or blank for the default.' };
  return { ok: true, value: Number(s) };
}

export function parseMoneyLimit(input: string, digits: number): ParsedLimit {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  if (s.startsWith('-')) return { ok: false, error: 'A limit cannot be negative.' };
  // Zero is a limit too (nothing may be spent); parseAmount refuses it.
  if (/^0*(\.0*)?$/.test(s)) return { ok: true, value: 0 };
  const p = parseAmount(s, digits);
  if (!p.ok) return p;
  return { ok: true, value: p.minor };
}

/** Minor units back to the text of the input: 150000, 2 → "1500.00"; null → "". */
export function limitText(minor: number | null | undefined, digits: number): string {
  if (minor == null) return '';
  if (digits === 0) return String(minor);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const scale = 10 ** digits;
  return `${sign}${Math.floor(abs / scale)}.${String(abs % scale).padStart(digits, '0')}`;
}
