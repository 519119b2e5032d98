// How much of a quota is used: a bar and the figures in words, for the
// Storage page and the admin's view of a user. Sizes through formatBytes.
import { formatBytes } from '../lib/format';

export function usageText(used: number, quota: number): string {
  if (quota <= 0) return `${formatBytes(used)} used; the quota is 0`;
  const pct = Math.min(999, Math.floor((used / quota) * 100));
  return `${formatBytes(used)} of ${formatBytes(quota)} used (${pct}%)`;
}

export function UsageBar({ used, quota, label = 'Storage used' }: { used: number; quota: number; label?: string }) {
  const ratio = quota > 0 ? Math.min(1, used / quota) : used > 0 ? 1 : 0;
  const tone = ratio >= 0.95 ? 'danger' : ratio >= 0.8 ? 'warning' : 'ok';
  const text = usageText(used, quota);
  const free = Math.max(0, quota - used);
  return (
    <div className="usage" data-testid="usage" data-tone={tone}>
      <div className="usage-head">
        <strong>{text}</strong>
        <span className="muted">{formatBytes(free)} free</span>
      </div>
      <div
        className="usage-bar"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(ratio * 100)}
        aria-valuetext={text}
      >
        <div className={`usage-fill usage-${tone}`} style={{ width: `${Math.round(ratio * 1000) / 10}%` }} />
      </div>
    </div>
  );
}
