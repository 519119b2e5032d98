import { describe, expect, it } from 'vitest';
import {
  currencyDigits,
  formatDuration,
  formatElapsed,
  formatGiB,
  formatGpuMemory,
  formatBytes,
  formatSize,
  formatMoney,
  formatRelative,
  runwaySeconds,
  shortId,
} from './format';

describe('formatMoney', () => {
  it('divides minor units by the currency exponent', () => {
    expect(formatMoney(1992, 'USD')).toMatch(/19\.92/);
    expect(formatMoney(0, 'USD')).toMatch(/0\.00/);
    expect(formatMoney(5, 'USD')).toMatch(/0\.05/);
    expect(formatMoney(1500, 'JPY')).toMatch(/1,500/);
    expect(formatMoney(1500, 'JPY')).not.toMatch(/\./);
    expect(formatMoney(1234, 'BHD')).toMatch(/1\.234/);
  });
  it('keeps the sign and can force it', () => {
    expect(formatMoney(-250, 'USD')).toBe('USD -2.50');
    expect(formatMoney(250, 'USD', { signed: true })).toMatch(/\+.*2\.50/);
  });
  it('is exact for large integer amounts', () => {
    expect(formatMoney(123456789012, 'USD')).toMatch(/1,234,567,890\.12/);
  });
  it('survives an unknown currency code', () => {
    expect(formatMoney(100, 'X')).toBe('X 1.00');
  });
  it('knows currency digits', () => {
    expect(currencyDigits('USD')).toBe(2);
    expect(currencyDigits('JPY')).toBe(0);
  });
});

describe('runwaySeconds', () => {
  it('is balance over burn in whole seconds', () => {
    expect(runwaySeconds(10000, 1992)).toBe(18072); // 100 USD at 19.92/h ≈ 5h 1m
    expect(runwaySeconds(0, 100)).toBe(0);
    expect(runwaySeconds(-5, 100)).toBe(0);
    expect(runwaySeconds(100, 0)).toBeNull();
  });
});

describe('formatDuration', () => {
  it('uses the two largest units', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59.9)).toBe('59s');
    expect(formatDuration(60)).toBe('1m');
    expect(formatDuration(125)).toBe('2m 5s');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(3725)).toBe('1h 2m');
    expect(formatDuration(90000)).toBe('1d 1h');
    expect(formatDuration(-3)).toBe('0s');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
  it('formats elapsed time between instants', () => {
    expect(formatElapsed('2025-01-01T00:00:00Z', '2025-01-01T01:30:00Z')).toBe('1h 30m');
    expect(formatElapsed('2025-01-01T00:00:00Z', null, new Date('2025-01-01T00:00:42Z'))).toBe('42s');
  });
});

describe('formatRelative', () => {
  const now = new Date('2025-01-01T12:00:00Z');
  it('says just now, minutes, hours and days', () => {
    expect(formatRelative('2025-01-01T11:59:50Z', now)).toBe('just now');
    expect(formatRelative('2025-01-01T11:55:00Z', now)).toBe('5 min. ago');
    expect(formatRelative('2025-01-01T14:00:00Z', now)).toBe('in 2 hr.');
    expect(formatRelative('2024-12-29T12:00:00Z', now)).toBe('3 days ago');
  });
});

describe('sizes', () => {
  it('uses one unit system (GB = 1024 MiB) for memory and disk', () => {
    expect(formatSize(512)).toBe('512 MB');
    expect(formatSize(81920)).toBe('80 GB');
    expect(formatSize(262144)).toBe('256 GB');
    expect(formatSize(2 * 1024 * 1024)).toBe('2 TB');
    expect(formatGiB(500)).toBe('500 GB');
    expect(formatGiB(1536)).toBe('1.5 TB');
    expect(formatSize(-1)).toBe('—');
  });
  it('names GPU memory as the card is sold', () => {
    expect(formatGpuMemory(81559)).toBe('80 GB'); // H100 80GB, as nvidia-smi reports it
    expect(formatGpuMemory(81920)).toBe('80 GB');
    expect(formatGpuMemory(143771)).toBe('141 GB'); // H200
    expect(formatGpuMemory(24564)).toBe('24 GB'); // RTX 4090
    expect(formatGpuMemory(40960)).toBe('40 GB');
    expect(formatGpuMemory(30000)).toBe('29.3 GB'); // no card of that size: as it is
  });
});

describe('shortId', () => {
  it('keeps 8 characters', () => {
    expect(shortId('0e8a4f3c-1111-2222-3333-444455556666')).toBe('0e8a4f3c');
  });
});

describe('formatBytes', () => {
  it('uses the same 1024-based units as formatSize', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3 MB');
    expect(formatBytes(5 * 2 ** 30)).toBe('5 GB');
    expect(formatBytes(2 * 2 ** 40)).toBe('2 TB');
    expect(formatBytes(-1)).toBe('—');
  });
});
