// Helpers for the billing screen: the date filter as the API's since/until
// (RFC 3339, until exclusive) and the file name of a CSV export.

/** "2025-03-01" → that day's local midnight as an RFC 3339 instant; undefined when empty or invalid. */
export function dayStart(day: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The day after `day`, for an inclusive "to" date sent as an exclusive `until`. */
export function dayAfter(day: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export interface UsageRange {
  since?: string;
  until?: string;
  /** Set when the range is backwards. */
  error?: string;
}

export function usageRange(from: string, to: string): UsageRange {
  const since = dayStart(from);
  const until = dayAfter(to);
  if (since && until && since >= until) return { error: 'The start date is after the end date.' };
  return { since, until };
}

export function csvFilename(from: string, to: string): string {
  if (from && to) return `usage-${from}-to-${to}.csv`;
  if (from) return `usage-from-${from}.csv`;
  if (to) return `usage-to-${to}.csv`;
  return 'usage.csv';
}
