import { describe, expect, it } from 'vitest';
import { GiB, parseQuotaGiB, quotaToGiBText } from './storageQuota';

describe('parseQuotaGiB', () => {
  it('turns GB into integer bytes without floats', () => {
    expect(parseQuotaGiB('50')).toEqual({ ok: true, bytes: 50 * GiB });
    expect(parseQuotaGiB(' 1.5 ')).toEqual({ ok: true, bytes: 1610612736 });
    expect(parseQuotaGiB('0')).toEqual({ ok: true, bytes: 0 });
    expect(parseQuotaGiB('.25')).toEqual({ ok: true, bytes: GiB / 4 });
    // 0.1 GiB is not a whole number of bytes: rounded down, still an integer.
    const tenth = parseQuotaGiB('0.1');
    expect(tenth).toEqual({ ok: true, bytes: 107374182 });
    expect(Number.isInteger((tenth as { bytes: number }).bytes)).toBe(true);
    expect(parseQuotaGiB('1048576')).toEqual({ ok: true, bytes: 1048576 * GiB });
  });

  it('refuses what is not a size', () => {
    expect(parseQuotaGiB('')).toMatchObject({ ok: false });
    expect(parseQuotaGiB('-1')).toEqual({ ok: false, error: 'A quota cannot be negative.' });
    expect(parseQuotaGiB('1e3')).toMatchObject({ ok: false });
    expect(parseQuotaGiB('1,5')).toMatchObject({ ok: false });
    expect(parseQuotaGiB('1048577')).toMatchObject({ ok: false });
  });

  it('shows bytes back as GB', () => {
    expect(quotaToGiBText(1610612736)).toBe('1.5');
    expect(quotaToGiBText(10 * GiB)).toBe('10');
    expect(quotaToGiBText(0)).toBe('0');
  });
});
