// GPU charts: utilisation, memory, temperature and power of an allocation's
// GPUs (its owner's page) or of a node's (the admin node page), one small
// dependency-free SVG line chart each, refreshed every bucket while live.
// The charts scale to their card (viewBox), so a 360 px screen shows them
// one under the other without sideways scrolling.
import { useState } from 'react';
import { routeMissing } from '../../api/errors';
import { useGet, type ApiState } from '../../api/query';
import { Card } from '../../components/Page';
import { ErrorBox } from '../../components/ErrorBox';
import { METRICS, formatValue, frameOf, linesOf, pathOf, yMax, type GPUMetrics, type MetricSpec } from './series';
import './telemetry.css';

const WINDOWS = [
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
];

const W = 300;
const H = 100;

/** How often to ask again: every bucket (the heartbeat interval for the last hour), at least every 5 s. */
function refreshMs(m: GPUMetrics | undefined): number {
  return Math.max(5, m?.step_seconds ?? 10) * 1000;
}

export function AllocationGpuCharts({ allocationId, live }: { allocationId: string; live: boolean }) {
  const [since, setSince] = useState('1h');
  const q = useGet(
    '/api/v1/allocations/{allocation_id}/metrics',
    { path: { allocation_id: allocationId }, query: { since } },
    { refetchInterval: (d) => (live ? refreshMs(d) : false) },
  );
  return <ChartsCard q={q} since={since} setSince={setSince} idPrefix={`alloc-${allocationId}`} />;
}

export function NodeGpuCharts({ nodeId }: { nodeId: string }) {
  const [since, setSince] = useState('1h');
  const q = useGet(
    '/api/v1/admin/nodes/{node_id}/metrics',
    { path: { node_id: nodeId }, query: { since } },
    { refetchInterval: (d) => refreshMs(d) },
  );
  return <ChartsCard q={q} since={since} setSince={setSince} idPrefix={`node-${nodeId}`} />;
}

function ChartsCard({
  q,
  since,
  setSince,
  idPrefix,
}: {
  q: ApiState<GPUMetrics>;
  since: string;
  setSince: (v: string) => void;
  idPrefix: string;
}) {
  if (q.error && routeMissing(q.error)) return null; // a server without telemetry
  // An answer without series (a stub server, a proxy's error page) is no data.
  const m = typeof q.data?.step_seconds === 'number' && Array.isArray(q.data.gpus) ? q.data : undefined;
  const empty = m !== undefined && m.gpus.every((g) => g.samples.length === 0);
  return (
    <Card
      title="GPU telemetry"
      className="gpu-charts-card"
      actions={
        <label className="gpu-charts-window">
          <span className="sr-only">Window</span>
          <select value={since} onChange={(e) => setSince(e.target.value)} aria-label="Telemetry window">
            {WINDOWS.map((w) => (
              <option key={w.value} value={w.value}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {q.error && <ErrorBox error={q.error} />}
      {!m && !q.error && <p className="muted">Loading…</p>}
      {m && empty && <p className="muted">No samples in this window yet: they arrive with the node's heartbeats.</p>}
      {m && !empty && (
        <div className="gpu-charts" data-testid="gpu-charts">
          {METRICS.map((spec) => (
            <Chart key={spec.key} m={m} spec={spec} id={`${idPrefix}-${spec.key}`} />
          ))}
        </div>
      )}
    </Card>
  );
}

function Chart({ m, spec, id }: { m: GPUMetrics; spec: MetricSpec; id: string }) {
  const lines = linesOf(m, spec.key);
  const top = yMax(lines, spec);
  const f = frameOf(m, W, H, top);
  const gap = 2 * m.step_seconds * 1000;
  const summary = lines.map((l) => `${l.label} ${formatValue(l.last, spec.unit)}`).join(', ');
  return (
    <figure className="gpu-chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>
        <span className="gpu-chart-title">{spec.title}</span>
        <span className="gpu-chart-top">max {formatValue(top, spec.unit)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${spec.title}: ${summary}`}>
        <line x1="0" y1={H / 2} x2={W} y2={H / 2} className="gpu-chart-grid" />
        {lines.map((l, i) => (
          <path key={l.uuid} d={pathOf(l.points, f, gap)} className={`gpu-chart-line c${i % 8}`} vectorEffect="non-scaling-stroke" />
        ))}
      </svg>
      <ul className="gpu-chart-legend">
        {lines.map((l, i) => (
          <li key={l.uuid}>
            <span className={`swatch c${i % 8}`} aria-hidden="true" />
            {l.label} <strong>{formatValue(l.last, spec.unit)}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}
