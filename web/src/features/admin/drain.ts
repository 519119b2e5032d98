// Maintenance (issue 14): what the drain dialog needs, without React. The
// deadline is picked in a datetime-local input, in the admin's own time
// zone, and sent as RFC 3339 in UTC; the server wants it in the future and at
// most 30 days ahead (400 with details.field "deadline" otherwise), and a
// reason (details.field "reason").
import type { ApiError } from '../../api/errors';
import type { Node } from '../../api/types';

/** The longest drain the server accepts. */
export const DRAIN_MAX_DAYS = 30;
export const DRAIN_REASON_MAX = 500;

/** The dialog's quick choices: a label and hours from now. */
export const QUICK_DEADLINES: readonly { label: string; hours: number }[] = [
  { label: 'In 1 hour', hours: 1 },
  { label: 'In 24 hours', hours: 24 },
  { label: 'In 7 days', hours: 24 * 7 },
];

const pad = (n: number) => String(n).padStart(2, '0');

/** A date as a datetime-local input's value ("2026-12-07T14:30"), in local time, to the minute. */
export function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) as an instant; null when it is not one. */
export function fromLocalInput(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  const at = new Date(y!, mo! - 1, d!, h!, mi!, s!);
  // new Date rolls over (Feb 30 → Mar 2); a value that rolled is not a real date.
  if (at.getFullYear() !== y || at.getMonth() !== mo! - 1 || at.getDate() !== d) return null;
  return at;
}

/** An instant as RFC 3339 in UTC, to the second: "2026-12-07T13:30:00Z". */
export function toRfc3339Utc(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The deadline a datetime-local value stands for, as the API wants it; null when it is not a date. */
export function deadlineFromLocal(value: string): string | null {
  const d = fromLocalInput(value);
  return d ? toRfc3339Utc(d) : null;
}

/** A quick choice's datetime-local value: now plus hours, rounded up to the next whole minute. */
export function quickDeadline(hours: number, now: Date = new Date()): string {
  const at = new Date(now.getTime() + hours * 3_600_000);
  if (at.getSeconds() !== 0 || at.getMilliseconds() !== 0) {
    at.setSeconds(0, 0);
    at.setMinutes(at.getMinutes() + 1);
  }
  return toLocalInput(at);
}

/** What is wrong with a typed deadline before it is sent, in words; null when the server may judge it. */
export function deadlineProblem(value: string, now: Date = new Date()): string | null {
  if (!value.trim()) return 'Choose when the drain ends.';
  const d = fromLocalInput(value);
  if (!d) return 'That is not a date and time.';
  if (d.getTime() <= now.getTime()) return 'The deadline must be in the future.';
  if (d.getTime() > now.getTime() + DRAIN_MAX_DAYS * 86_400_000) return `The deadline must be within ${DRAIN_MAX_DAYS} days.`;
  return null;
}

/** The admin's UTC offset at that date, as "UTC+01:00" (for the hint under the picker). */
export function utcOffsetLabel(d: Date): string {
  const off = -d.getTimezoneOffset();
  if (off === 0) return 'UTC';
  const sign = off > 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Which field of the drain form a 400 is about (details.field), or null for the whole form. */
export function drainFieldOf(err: ApiError | undefined): 'reason' | 'deadline' | null {
  if (!err || err.status !== 400) return null;
  const f = err.details.field;
  return f === 'reason' || f === 'deadline' ? f : null;
}

/** The node's drain, when it drains: its deadline and reason. */
export function drainOf(n: Pick<Node, 'admin_state' | 'drain_deadline' | 'drain_reason'>): { deadline: string; reason: string } | null {
  if (n.admin_state !== 'draining' || !n.drain_deadline) return null;
  return { deadline: n.drain_deadline, reason: n.drain_reason ?? '' };
}

/** What the admin may do to a node in its admin state. */
export function nodeLifecycle(n: Pick<Node, 'admin_state'>): { drain: boolean; undrain: boolean; decommission: boolean } {
  const s = n.admin_state;
  return {
    drain: s === 'active' || s === 'maintenance' || s === 'draining',
    undrain: s === 'draining',
    decommission: s !== 'decommissioned',
  };
}
