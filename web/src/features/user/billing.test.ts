import { describe, expect, it } from 'vitest';
import { csvFilename, dayAfter, dayStart, usageRange } from './billing';

describe('usage date range', () => {
  it('turns days into local-midnight instants, with an exclusive end', () => {
    expect(dayStart('2025-03-01')).toBe(new Date(2025, 2, 1).toISOString());
    expect(dayAfter('2025-03-31')).toBe(new Date(2025, 3, 1).toISOString());
    expect(dayStart('')).toBeUndefined();
    expect(dayStart('nonsense')).toBeUndefined();
  });
  it('accepts one day, open ends, and refuses a backwards range', () => {
    expect(usageRange('2025-03-01', '2025-03-01').error).toBeUndefined();
    expect(usageRange('', '')).toEqual({ since: undefined, until: undefined });
    expect(usageRange('2025-03-02', '2025-03-01').error).toMatch(/after/);
  });
  it('names the export after the range', () => {
    expect(csvFilename('', '')).toBe('usage.csv');
    expect(csvFilename('2025-03-01', '2025-03-31')).toBe('usage-2025-03-01-to-2025-03-31.csv');
    expect(csvFilename('2025-03-01', '')).toBe('usage-from-2025-03-01.csv');
  });
});
