import { describe, expect, it } from 'vitest';
import { safeNext } from './safeNext';

describe('safeNext', () => {
  it('keeps same-origin paths and refuses the rest', () => {
    expect(safeNext('/allocations/a1?x=1')).toBe('/allocations/a1?x=1');
    expect(safeNext(null)).toBe('/marketplace');
    expect(safeNext('https://evil.example/')).toBe('/marketplace');
    expect(safeNext('//evil.example/')).toBe('/marketplace');
    expect(safeNext('/\\evil.example')).toBe('/marketplace');
    expect(safeNext('/login?next=/x')).toBe('/marketplace');
  });
});
