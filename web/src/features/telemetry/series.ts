// GPU telemetry as the charts draw it: the metrics answer
// (GET …/metrics: one series per GPU, samples averaged per step) turned
// into one SVG path per GPU and metric, with a y scale that starts at zero
// and ends on a round number. A gap of more than two steps between samples
// (the node was away, the allocation was not running) breaks the line
// instead of drawing across it. Pure functions, so vitest can pin them.
import type { components } from '../../api/schema';

export type GPUMetrics = components['schemas']['GPUMetrics'];
export type GPUSample = components['schemas']['GPUSample'];

export type MetricKey = 'utilization_pct' | 'memory_used_mib' | 'temperature_c' | 'power_w';

export interface MetricSpec {
  key: MetricKey;
  title: string;
  unit: string;
  /** A fixed top of the scale (utilisation: 100); otherwise from the data. */
  fixedMax?: number;
}

export const METRICS: MetricSpec[] = [
  { key: 'utilization_pct', title: 'Utilisation', unit: '%', fixedMax: 100 },
  { key: 'memory_used_mib', title: 'Memory used', unit: 'MiB' },
  { key: 'temperature_c', title: 'Temperature', unit: '°C' },
  { key: 'power_w', title: 'Power', unit: 'W' },
];

export interface Point {
  t: number; // ms since the epoch
  v: number;
}

export interface Line {
  label: string; // "GPU 0"
  uuid: string;
  points: Point[];
  last: number | undefined;
}

/** The lines of one metric, one per GPU, in the answer's order. */
export function linesOf(m: GPUMetrics, key: MetricKey): Line[] {
  return m.gpus.map((g) => {
    const points = g.samples.map((s) => ({ t: Date.parse(s.t), v: s[key] }));
    return {
      label: g.index >= 0 ? `GPU ${g.index}` : g.uuid,
      uuid: g.uuid,
      points,
      last: points.at(-1)?.v,
    };
  });
}

/** The smallest "nice" number (1, 2, 2.5 or 5 × 10ⁿ) at or above v; 1 for v ≤ 0. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) {
    if (f * mag >= v - 1e-9) return f * mag;
  }
  return 10 * mag;
}

/** The top of the y scale for lines: spec's fixed max, else the nice ceiling of the largest value. */
export function yMax(lines: Line[], spec: MetricSpec): number {
  if (spec.fixedMax !== undefined) return spec.fixedMax;
  let max = 0;
  for (const l of lines) for (const p of l.points) max = Math.max(max, p.v);
  return niceCeil(max);
}

export interface Frame {
  width: number;
  height: number;
  t0: number; // ms: left edge
  t1: number; // ms: right edge
  yMax: number;
}

/** The frame of the answer's window [since, until]. */
export function frameOf(m: GPUMetrics, width: number, height: number, top: number): Frame {
  return { width, height, t0: Date.parse(m.since), t1: Date.parse(m.until), yMax: top };
}

/**
 * The SVG path of points in frame: "M x y L x y …", starting a new
 * sub-path (M) where two samples lie more than maxGapMs apart. Values are
 * clamped to the frame; coordinates are rounded to 0.1.
 */
export function pathOf(points: Point[], f: Frame, maxGapMs: number): string {
  const span = Math.max(f.t1 - f.t0, 1);
  const r = (n: number) => Math.round(n * 10) / 10;
  const parts: string[] = [];
  let prev: number | undefined;
  for (const p of points) {
    const x = r(((Math.min(Math.max(p.t, f.t0), f.t1) - f.t0) / span) * f.width);
    const y = r(f.height - (Math.min(Math.max(p.v, 0), f.yMax) / f.yMax) * f.height);
    const cmd = prev === undefined || p.t - prev > maxGapMs ? 'M' : 'L';
    parts.push(`${cmd}${x} ${y}`);
    prev = p.t;
  }
  return parts.join(' ');
}

/** A value for the legend: whole numbers, thousands grouped; "–" for none. */
export function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined) return '–';
  const n = Math.round(v).toLocaleString('en-US');
  return unit === '%' || unit === '°C' ? `${n}${unit}` : `${n} ${unit}`;
}
