// The marketplace: every SKU on offer as a card with its shape, price per
// hour and how many more allocations fit now (sold out when none), and the
// create dialog. Capacity changes as others allocate, so the list refreshes
// every 30 s and when one of your allocations changes (app/cache.tsx).
import { useState } from 'react';
import { Link } from 'react-router';
import { useGet } from '../../api/query';
import type { SKU } from '../../api/types';
import { useBalance } from '../../app/balance';
import { Money } from '../../components/Money';
import { Page } from '../../components/Page';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { CreateAllocationDialog } from '../../features/user/CreateAllocationDialog';
import { MIN_RUNWAY_SECONDS, estimateCreate } from '../../features/user/estimate';
import { formatDuration, formatGiB, formatGpuMemory, formatSize } from '../../lib/format';
import '../../features/user/user.css';

export function MarketplacePage() {
  const skus = useGet('/api/v1/skus', { query: { page_size: 200 } }, { refetchInterval: 30_000 });
  const [creating, setCreating] = useState<SKU | null>(null);
  const balance = useBalance();

  return (
    <Page
      title="Marketplace"
      subtitle="GPU machines you can start now, billed by the second."
      actions={
        balance.data && (
          <div className="page-balance">
            <span className="muted">Available balance</span>
            <strong>
              <Money minor={balance.data.balance_minor - balance.data.unbilled_minor} currency={balance.data.currency} />
            </strong>
          </div>
        )
      }
    >
      <StateView
        state={skus}
        isEmpty={(d) => d.items.length === 0}
        empty={<Empty title="No SKUs on offer" hint="An administrator has not priced any GPUs yet." />}
        loadingLabel="Loading the SKUs on offer…"
      >
        {(d) => (
          <ul className="sku-grid" aria-label="SKUs on offer">
            {[...d.items]
              .sort((a, b) => a.price_per_hour_minor - b.price_per_hour_minor || a.name.localeCompare(b.name))
              .map((s) => (
                <SkuCard key={s.id} sku={s} onCreate={() => setCreating(s)} />
              ))}
          </ul>
        )}
      </StateView>
      <p className="muted fine-print">
        Prices are per hour and charged per second of use, from when an allocation becomes active until it is
        released. See your spending in <Link to="/billing">Billing</Link>.
      </p>
      <CreateAllocationDialog sku={creating} onClose={() => setCreating(null)} />
    </Page>
  );
}

function SkuCard({ sku, onCreate }: { sku: SKU; onCreate: () => void }) {
  const balance = useBalance();
  const soldOut = sku.available <= 0;
  const est = estimateCreate(sku, balance.data);
  const short = !soldOut && !!balance.data && est.likelyRefused;
  const titleId = `sku-${sku.id}`;
  const reasonId = `sku-${sku.id}-reason`;
  return (
    <li className={`sku-card${soldOut ? ' sold-out' : ''}`} aria-labelledby={titleId} data-sku={sku.id}>
      <div className="sku-card-head">
        <div>
          <h2 className="sku-name" id={titleId}>
            {sku.name}
          </h2>
          <p className="muted sku-model">{sku.gpu_model}</p>
        </div>
        {soldOut ? (
          <StatusPill status="sold_out" label="Sold out" tone="danger" />
        ) : (
          <StatusPill status="available" label={`${sku.available} available`} tone="success" />
        )}
      </div>
      <dl className="sku-specs">
        <div>
          <dt>GPUs</dt>
          <dd>{sku.gpu_count}</dd>
        </div>
        <div>
          <dt>GPU memory</dt>
          <dd>{formatGpuMemory(sku.gpu_memory_mib)}</dd>
        </div>
        <div>
          <dt>vCPU</dt>
          <dd>{sku.vcpu}</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>{formatSize(sku.memory_mib)}</dd>
        </div>
        <div>
          <dt>Disk</dt>
          <dd>{formatGiB(sku.disk_gib)}</dd>
        </div>
        <div>
          <dt>Region</dt>
          <dd>{sku.region}</dd>
        </div>
      </dl>
      <div className="sku-card-foot">
        <div className="sku-price">
          <Money minor={sku.price_per_hour_minor} currency={sku.currency} />
          <span className="muted"> / hour</span>
          {est.runway !== null && balance.data && !soldOut && !short && (
            <span className="sku-runway muted" data-testid="sku-runway">
              Your balance lasts {formatDuration(est.runway)}
              {est.runwayWithRunning !== null && ' with what you already run'}
            </span>
          )}
        </div>
        <button
          type="button"
          className="button primary"
          onClick={onCreate}
          disabled={soldOut || short}
          aria-label={soldOut ? `${sku.name} is sold out` : `Create ${sku.name}`}
          aria-describedby={short ? reasonId : undefined}
        >
          {soldOut ? 'Sold out' : 'Create'}
        </button>
      </div>
      {short && (
        <p className="sku-short" id={reasonId} data-testid="sku-short">
          Not enough credit: starting this needs <Money minor={est.requiredMinor} currency={est.currency} /> (
          {formatDuration(MIN_RUNWAY_SECONDS)} at <Money minor={est.totalPerHourMinor} currency={est.currency} />
          /h{est.runwayWithRunning !== null ? ' with what you already run' : ''}); you have{' '}
          <Money minor={Math.max(0, est.availableMinor)} currency={est.currency} />. <Link to="/billing">Billing</Link>
        </p>
      )}
    </li>
  );
}
