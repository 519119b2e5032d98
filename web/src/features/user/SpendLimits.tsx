// The billing page's spend limits (GET /api/v1/billing/limits): each limit
// in force with how much of it is used, or "no limit"; and the chart of
// daily spend by SKU over the last 30 days (GET /api/v1/billing/daily-spend),
// drawn as plain SVG stacked bars that scale to any width.
import type { ReactNode } from 'react';
import { useGet } from '../../api/query';
import type { SpendLimits } from '../../api/types';
import { Money } from '../../components/Money';
import { Card } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { formatMoney } from '../../lib/format';
import { spendSeries } from './spend';

function Meter({ label, used, limit, usedText, limitText }: { label: string; used: number; limit: number | null | undefined; usedText: ReactNode; limitText: ReactNode }) {
  if (limit == null) {
    return (
      <div className="usage" data-testid="limit" data-limit={label}>
        <div className="usage-head">
          <strong>{label}</strong>
          <span className="muted">
            {usedText} used · no limit
          </span>
        </div>
      </div>
    );
  }
  const ratio = limit > 0 ? Math.min(1, used / limit) : used > 0 ? 1 : 1;
  const tone = ratio >= 0.95 ? 'danger' : ratio >= 0.8 ? 'warning' : 'ok';
  return (
    <div className="usage" data-testid="limit" data-limit={label} data-tone={tone}>
      <div className="usage-head">
        <strong>{label}</strong>
        <span>
          {usedText} of {limitText}
        </span>
      </div>
      <div
        className="usage-bar"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(ratio * 100)}
      >
        <div className={`usage-fill usage-${tone}`} style={{ width: `${Math.round(ratio * 1000) / 10}%` }} />
      </div>
    </div>
  );
}

/** The limits in force and their use, one meter each (money per currency). */
export function LimitsView({ l }: { l: SpendLimits }) {
  const month = new Date(l.month_start).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return (
    <div className="limits" data-testid="spend-limits">
      <Meter
        label="GPUs at once"
        used={l.gpus_in_use}
        limit={l.max_concurrent_gpus}
        usedText={`${l.gpus_in_use} GPU${l.gpus_in_use === 1 ? '' : 's'}`}
        limitText={`${l.max_concurrent_gpus ?? 0}`}
      />
      {(l.usage ?? []).map((u) => (
        <div key={u.currency}>
          <Meter
            label={`Spend in ${month}${(l.usage ?? []).length > 1 ? ` (${u.currency})` : ''}`}
            used={u.month_spend_minor}
            limit={l.max_monthly_spend_minor}
            usedText={<Money minor={u.month_spend_minor} currency={u.currency} />}
            limitText={<Money minor={l.max_monthly_spend_minor ?? 0} currency={u.currency} />}
          />
          <Meter
            label={`Burn rate per hour${(l.usage ?? []).length > 1 ? ` (${u.currency})` : ''}`}
            used={u.burn_per_hour_minor}
            limit={l.max_burn_per_hour_minor}
            usedText={<Money minor={u.burn_per_hour_minor} currency={u.currency} />}
            limitText={<Money minor={l.max_burn_per_hour_minor ?? 0} currency={u.currency} />}
          />
        </div>
      ))}
      <p className="muted hint-text">
        A new allocation that would go over a limit is refused; what already runs is never stopped by a limit. An
        administrator sets your limits.
      </p>
    </div>
  );
}

export function LimitsCard() {
  const limits = useGet('/api/v1/billing/limits', {}, { refetchInterval: 60_000 });
  return (
    <Card title="Spend limits">
      <StateView state={limits} loadingLabel="Loading your limits…">
        {(l) => <LimitsView l={l} />}
      </StateView>
    </Card>
  );
}

const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777'];
const DAYS = 30;

export function SpendChart() {
  const spend = useGet('/api/v1/billing/daily-spend', { query: { days: DAYS } });
  return (
    <Card title="Daily spend, last 30 days">
      <StateView state={spend} loadingLabel="Loading your spend…">
        {(d) => {
          const s = spendSeries(d.items, d.since, DAYS);
          if (!s.currency) return <p className="muted" data-testid="spend-chart-empty">No usage charges in the last 30 days.</p>;
          const cur = s.currency;
          const W = 300;
          const H = 120;
          const gap = 2;
          const bw = W / DAYS - gap;
          const color = (sku: string) => PALETTE[s.skus.indexOf(sku) % PALETTE.length];
          return (
            <div data-testid="spend-chart">
              <svg
                className="spend-chart"
                viewBox={`0 0 ${W} ${H}`}
                width="100%"
                preserveAspectRatio="none"
                role="img"
                aria-label={`Daily spend by SKU since ${d.since}: ${formatMoney(s.total, cur)} in all`}
              >
                {s.days.map((day, i) => {
                  let y = H;
                  return (
                    <g key={day.day}>
                      <title>{`${day.day}: ${formatMoney(day.total, cur)}`}</title>
                      {day.parts.map((p) => {
                        const h = s.max > 0 ? (p.minor / s.max) * (H - 4) : 0;
                        y -= h;
                        return <rect key={p.sku} x={i * (bw + gap)} y={y} width={bw} height={h} fill={color(p.sku)} />;
                      })}
                    </g>
                  );
                })}
              </svg>
              <div className="spend-axis muted hint-text">
                <span>{s.days[0]?.day}</span>
                <span>highest day {formatMoney(s.max, cur)}</span>
                <span>{s.days[s.days.length - 1]?.day}</span>
              </div>
              <ul className="spend-legend">
                {s.skus.map((sku) => (
                  <li key={sku}>
                    <span className="swatch" style={{ background: color(sku) }} aria-hidden="true" />
                    {sku === 'storage' ? 'Storage' : sku}:{' '}
                    <Money minor={s.days.reduce((n, day) => n + (day.parts.find((p) => p.sku === sku)?.minor ?? 0), 0)} currency={cur} />
                  </li>
                ))}
              </ul>
              {s.otherCurrencies.length > 0 && (
                <p className="muted hint-text">Charges in {s.otherCurrencies.join(', ')} are not drawn.</p>
              )}
            </div>
          );
        }}
      </StateView>
    </Card>
  );
}
