import { describe, expect, it } from 'vitest';
import { METRICS, formatValue, frameOf, linesOf, niceCeil, pathOf, yMax, type GPUMetrics } from './series';

const m: GPUMetrics = {
  since: '2026-12-07T12:00:00Z',
  until: '2026-12-07T12:01:40Z', // 100 s
  step_seconds: 10,
  gpus: [
    {
      index: 1,
      uuid: 'GPU-b',
      samples: [
        { t: '2026-12-07T12:00:00Z', utilization_pct: 50, memory_used_mib: 1000, temperature_c: 40, power_w: 300 },
        { t: '2026-12-07T12:00:10Z', utilization_pct: 100, memory_used_mib: 3100, temperature_c: 60, power_w: 650 },
        // a gap: the node was away for a minute
        { t: '2026-12-07T12:01:20Z', utilization_pct: 0, memory_used_mib: 0, temperature_c: 35, power_w: 70 },
      ],
    },
    { index: -1, uuid: 'GPU-gone', samples: [] },
  ],
};

describe('telemetry series', () => {
  it('makes one line per GPU with its last value', () => {
    const lines = linesOf(m, 'power_w');
    expect(lines.map((l) => l.label)).toEqual(['GPU 1', 'GPU-gone']);
    expect(lines[0]?.points).toHaveLength(3);
    expect(lines[0]?.last).toBe(70);
    expect(lines[1]?.last).toBeUndefined();
  });

  it('scales to round tops, utilisation fixed at 100', () => {
    expect(niceCeil(0)).toBe(1);
    expect(niceCeil(3100)).toBe(5000);
    expect(niceCeil(650)).toBe(1000);
    expect(niceCeil(200)).toBe(200);
    expect(niceCeil(21)).toBe(25);
    const util = METRICS.find((s) => s.key === 'utilization_pct')!;
    const mem = METRICS.find((s) => s.key === 'memory_used_mib')!;
    expect(yMax(linesOf(m, 'utilization_pct'), util)).toBe(100);
    expect(yMax(linesOf(m, 'memory_used_mib'), mem)).toBe(5000);
  });

  it('draws the window left to right and breaks the line at gaps', () => {
    const f = frameOf(m, 100, 50, 100);
    const d = pathOf(linesOf(m, 'utilization_pct')[0]!.points, f, 2 * m.step_seconds * 1000);
    expect(d).toBe('M0 25 L10 0 M80 50');
  });

  it('clamps values outside the frame', () => {
    const f = { width: 10, height: 10, t0: 0, t1: 10, yMax: 100 };
    expect(pathOf([{ t: -5, v: 150 }, { t: 20, v: -3 }], f, 100)).toBe('M0 0 L10 10');
  });

  it('formats legend values', () => {
    expect(formatValue(undefined, 'W')).toBe('–');
    expect(formatValue(97.4, '%')).toBe('97%');
    expect(formatValue(40000, 'MiB')).toBe('40,000 MiB');
    expect(formatValue(66.2, '°C')).toBe('66°C');
  });
});
