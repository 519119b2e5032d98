import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors';
import {
  deadlineFromLocal,
  deadlineProblem,
  drainFieldOf,
  drainOf,
  fromLocalInput,
  nodeLifecycle,
  quickDeadline,
  toLocalInput,
  toRfc3339Utc,
  utcOffsetLabel,
} from './drain';

const TZ = process.env.TZ;
afterEach(() => {
  if (TZ === undefined) delete process.env.TZ;
  else process.env.TZ = TZ;
});

describe('the drain deadline', () => {
  it('reads a datetime-local value as local time and sends it as RFC 3339 in UTC', () => {
    // Whatever zone the tests run in: the same wall-clock time, made by Date's local constructor.
    expect(deadlineFromLocal('2026-12-07T14:30')).toBe(toRfc3339Utc(new Date(2026, 11, 7, 14, 30)));
    expect(deadlineFromLocal('2026-12-07T14:30')).toMatch(/^2026-12-0\dT\d{2}:\d{2}:00Z$/);
    expect(toLocalInput(fromLocalInput('2026-12-07T14:30')!)).toBe('2026-12-07T14:30');
  });

  it('converts in a zone east of UTC, and across a daylight-saving change', () => {
    process.env.TZ = 'Europe/Paris';
    expect(deadlineFromLocal('2026-12-07T14:30')).toBe('2026-12-07T13:30:00Z');
    expect(deadlineFromLocal('2026-07-01T09:05')).toBe('2026-07-01T07:05:00Z');
    expect(utcOffsetLabel(new Date('2026-12-07T13:30:00Z'))).toBe('UTC+01:00');
    process.env.TZ = 'America/New_York';
    expect(deadlineFromLocal('2026-12-07T22:15')).toBe('2026-12-08T03:15:00Z');
    expect(utcOffsetLabel(new Date('2026-12-08T03:15:00Z'))).toBe('UTC-05:00');
    process.env.TZ = 'UTC';
    expect(utcOffsetLabel(new Date())).toBe('UTC');
  });

  it('refuses what is not a date', () => {
    expect(deadlineFromLocal('')).toBeNull();
    expect(deadlineFromLocal('tomorrow')).toBeNull();
    expect(deadlineFromLocal('2026-02-30T10:00')).toBeNull();
  });

  it('gives quick choices from now, rounded up to the minute', () => {
    const now = new Date(2026, 11, 7, 9, 41, 12);
    expect(quickDeadline(1, now)).toBe('2026-12-07T10:42');
    expect(quickDeadline(24, now)).toBe('2026-12-08T09:42');
    expect(quickDeadline(24 * 7, now)).toBe('2026-12-14T09:42');
    expect(quickDeadline(1, new Date(2026, 11, 7, 9, 41, 0))).toBe('2026-12-07T10:41');
    for (const h of [1, 24, 168]) expect(deadlineProblem(quickDeadline(h, now), now)).toBeNull();
  });

  it('says what is wrong before sending: empty, past, beyond 30 days', () => {
    const now = new Date(2026, 11, 7, 9, 0);
    expect(deadlineProblem('', now)).toBe('Choose when the drain ends.');
    expect(deadlineProblem('2026-12-07T08:59', now)).toBe('The deadline must be in the future.');
    expect(deadlineProblem('2027-01-06T09:00', now)).toBeNull();
    expect(deadlineProblem('2027-01-06T09:01', now)).toBe('The deadline must be within 30 days.');
  });

  it("maps a 400's details.field to the form field", () => {
    const e = (field: unknown, status = 400) =>
      new ApiError({ status, code: 'invalid_request', message: 'deadline must be in the future', details: { field } });
    expect(drainFieldOf(e('deadline'))).toBe('deadline');
    expect(drainFieldOf(e('reason'))).toBe('reason');
    expect(drainFieldOf(e('other'))).toBeNull();
    expect(drainFieldOf(e('deadline', 409))).toBeNull();
    expect(drainFieldOf(undefined)).toBeNull();
  });
});

describe('the node lifecycle', () => {
  it('offers drain, undrain and decommission by admin state', () => {
    expect(nodeLifecycle({ admin_state: 'active' })).toEqual({ drain: true, undrain: false, decommission: true });
    expect(nodeLifecycle({ admin_state: 'draining' })).toEqual({ drain: true, undrain: true, decommission: true });
    expect(nodeLifecycle({ admin_state: 'disabled' })).toEqual({ drain: false, undrain: false, decommission: true });
    expect(nodeLifecycle({ admin_state: 'decommissioned' })).toEqual({ drain: false, undrain: false, decommission: false });
  });

  it('reads a drain only while draining', () => {
    expect(drainOf({ admin_state: 'draining', drain_deadline: '2026-12-08T10:00:00Z', drain_reason: 'kernel' })).toEqual({
      deadline: '2026-12-08T10:00:00Z',
      reason: 'kernel',
    });
    expect(drainOf({ admin_state: 'active', drain_deadline: null })).toBeNull();
  });
});
