// Display formatting. Money stays in integer minor units everywhere in the
// console; it becomes a float only here, at the last step, for Intl.

// One locale for the whole console (its text is English), so numbers and dates
// read the same in every screenshot and test.
const LOCALE = 'en-US';

/** Digits after the decimal point of a currency (USD 2, JPY 0, BHD 3). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * formatMoney(1992, 'USD') → "USD 19.92": the currency code, then the amount
 * from integer minor units (the float is display-only), as the server writes
 * money in its own texts (internal/money.Format), so a notification's body
 * and the console's figures read the same. Thousands are grouped; signed
 * puts "+" on credits ("USD +12.34"), a debit is always "USD -5.00".
 */
export function formatMoney(minor: number, currency: string, opts: { signed?: boolean } = {}): string {
  const digits = currencyDigits(currency);
  const major = Math.abs(minor) / 10 ** digits;
  const number = new Intl.NumberFormat(LOCALE, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(major);
  const sign = minor < 0 ? '-' : opts.signed && minor > 0 ? '+' : '';
  return `${currency} ${sign}${number}`;
}

/** How many whole seconds a balance lasts at a burn rate per hour (both minor units); null when nothing burns. */
export function runwaySeconds(balanceMinor: number, perHourMinor: number): number | null {
  if (perHourMinor <= 0) return null;
  if (balanceMinor <= 0) return 0;
  return Math.floor((balanceMinor * 3600) / perHourMinor);
}

/** formatDuration(3725) → "1h 2m"; short and rounded down to the two largest units. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds)) return '—';
  const s = Math.max(0, Math.floor(totalSeconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

/** Milliseconds between two instants as a duration ("3m 4s"); `end` defaults to now. */
export function formatElapsed(start: string | Date, end: string | Date | null = null, now: Date = new Date()): string {
  const a = new Date(start).getTime();
  const b = end ? new Date(end).getTime() : now.getTime();
  return formatDuration((b - a) / 1000);
}

/** An absolute date and time in the browser's locale; "—" for none. */
export function formatDateTime(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '—';
  return new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}

/** "just now", "5 min ago", "in 2 h", "3 days ago". */
export function formatRelative(value: string | Date, now: Date = new Date()): string {
  const diff = (new Date(value).getTime() - now.getTime()) / 1000;
  const abs = Math.abs(diff);
  if (abs < 45) return 'just now';
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

// Sizes: one unit system for GPU memory, RAM and disk, the one GPU vendors
// and nvidia-smi use: 1 GB = 1024 MiB, 1 TB = 1024 GB (so an "H100 80GB"
// is 80 GB here, not 85.9). GPU memory snaps to the marketing size the card
// is sold as when the reported figure is within 2.5% of it (a card reports
// a little less than its nominal size: 81559 MiB for an H100 80GB).

/** Marketing GPU memory sizes, in GB. */
const GPU_MEMORY_SIZES = [4, 6, 8, 10, 11, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 128, 141, 144, 180, 192, 256, 288];

function trimNumber(v: number): string {
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

/** formatSize(81920) → "80 GB", formatSize(2 * 1024 * 1024) → "2 TB"; for the API's *_mib fields. */
export function formatSize(mib: number): string {
  if (!Number.isFinite(mib) || mib < 0) return '—';
  if (mib < 1024) return `${trimNumber(mib)} MB`;
  const gb = mib / 1024;
  if (gb < 1024) return `${trimNumber(gb)} GB`;
  return `${trimNumber(gb / 1024)} TB`;
}

/** For the API's *_gib fields (disk): formatGiB(500) → "500 GB". */
export function formatGiB(gib: number): string {
  return formatSize(gib * 1024);
}

/** GPU memory as the card is sold: formatGpuMemory(81559) → "80 GB"; otherwise as formatSize. */
export function formatGpuMemory(mib: number): string {
  if (!Number.isFinite(mib) || mib <= 0) return formatSize(mib);
  const gb = mib / 1024;
  const size = GPU_MEMORY_SIZES.find((m) => Math.abs(gb - m) / m <= 0.025);
  return size !== undefined ? `${size} GB` : formatSize(mib);
}

/** The first 8 characters of a UUID, for tables. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * A byte count in the same units as formatSize (1 KB = 1024 bytes, GB = 1024 MB):
 * formatBytes(512) → "512 B", formatBytes(1536) → "1.5 KB", formatBytes(5 * 2 ** 30) → "5 GB".
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.floor(bytes)} B`;
  const kb = bytes / 1024;
  if (kb < 1024) return `${trimNumber(kb)} KB`;
  return formatSize(kb / 1024);
}
