// A storage quota is typed in GiB (decimals allowed, "2.5") and sent as
// integer bytes. Parsed with BigInt, never through a float, so "0.1" GiB is
// the integer 107374182 (rounded down to the byte), and "1.5" exactly 1610612736.

export const GiB = 1024 ** 3;
/** The largest quota the form accepts: 1 PiB, well inside a safe integer. */
export const MAX_QUOTA_GIB = 1024 * 1024;

export type ParsedQuota = { ok: true; bytes: number } | { ok: false; error: string };

export function parseQuotaGiB(input: string): ParsedQuota {
  const s = input.trim();
  if (s === '') return { ok: false, error: 'Enter a size in GB, e.g. 50.' };
  const m = /^(\d+)(?:\.(\d{1,6}))?$|^\.(\d{1,6})$/.exec(s);
  if (!m) {
    if (/^-/.test(s)) return { ok: false, error: 'A quota cannot be negative.' };
    return { ok: false, error: 'A number of GB, e.g. 50 or 2.5 (at most 6 decimals).' };
  }
  const whole = BigInt(m[1] ?? '0');
  const fracDigits = m[2] ?? m[3] ?? '';
  const frac = fracDigits ? BigInt(fracDigits) : 0n;
  const scale = 10n ** BigInt(fracDigits.length);
  const bytes = whole * BigInt(GiB) + (frac * BigInt(GiB)) / scale;
  if (bytes > BigInt(MAX_QUOTA_GIB) * BigInt(GiB)) return { ok: false, error: `At most ${MAX_QUOTA_GIB} GB (1 PB).` };
  return { ok: true, bytes: Number(bytes) };
}

/** Bytes as the GiB figure to put back in the input: 1610612736 → "1.5", trimmed to 3 decimals. */
export function quotaToGiBText(bytes: number): string {
  return String(Number((bytes / GiB).toFixed(3)));
}
