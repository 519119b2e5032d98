// The reference screen for the others: load with useApi, render through
// StateView (loading / error / empty / restricted), a DataTable of typed rows.
import { api } from '../../api/client';
import { useApi } from '../../api/hooks';
import type { SKU } from '../../api/types';
import { DataTable, type Column } from '../../components/DataTable';
import { Money } from '../../components/Money';
import { Page } from '../../components/Page';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { formatMiB } from '../../lib/format';
import { Placeholder } from '../Placeholder';

const columns: Column<SKU>[] = [
  {
    key: 'name',
    header: 'SKU',
    render: (s) => (
      <div className="cell-stack">
        <strong>{s.name}</strong>
        <span className="muted">{s.id}</span>
      </div>
    ),
  },
  {
    key: 'gpus',
    header: 'GPUs',
    render: (s) => `${s.gpu_count} × ${s.gpu_model}`,
  },
  { key: 'memory', header: 'GPU memory', render: (s) => formatMiB(s.gpu_memory_mib), hideOnMobile: true },
  { key: 'region', header: 'Region', render: (s) => s.region, hideOnMobile: true },
  {
    key: 'price',
    header: 'Price / hour',
    align: 'right',
    render: (s) => <Money minor={s.price_per_hour_minor} currency={s.currency} />,
  },
  {
    key: 'available',
    header: 'Free',
    align: 'right',
    render: (s) =>
      s.available > 0 ? <span>{s.available}</span> : <StatusPill status="sold_out" label="sold out" tone="danger" />,
  },
];

// TODO(issue 6, user screens): cards per SKU, the create dialog with the
// estimated cost per hour and how long the balance lasts (useBalance(),
// runwaySeconds()), sold-out state on the card.
export function MarketplacePage() {
  const skus = useApi((signal) => api.get('/api/v1/skus', { signal }), []);
  return (
    <Page title="Marketplace" subtitle="GPU machines you can start now, billed by the second.">
      <StateView
        state={skus}
        isEmpty={(d) => d.items.length === 0}
        empty={<Empty title="No SKUs on offer" hint="An administrator has not priced any GPUs yet." />}
      >
        {(d) => <DataTable caption="SKUs" columns={columns} rows={d.items} rowKey={(s) => s.id} />}
      </StateView>
      <Placeholder todo={['SKU cards with a Create button; the create dialog with cost per hour and runway.']} />
    </Page>
  );
}
