// The catalogue: regions, SKUs (active and inactive) with their prices, and
// the SKUs the platform suggests from the GPUs nodes reported. A new price
// applies to allocations created after it; running ones keep theirs. A
// region still used by nodes or SKUs cannot be deleted: the refusal names
// them. Every change is in the audit log (region.*, sku.*).
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { useGet, useMutate } from '../../api/query';
import type { SKU } from '../../api/types';
import { DataTable, type Column } from '../../components/DataTable';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import {
  REGION_SLUG,
  checkSkuForm,
  emptySkuForm,
  fieldOfCatalogueError,
  formFromSuggestion,
  nameError,
  parsePrice,
  priceInput,
  regionInUseText,
  type AdminRegion,
  type SkuForm,
} from '../../features/admin/catalogue';
import { formatDateTime, formatGpuMemory } from '../../lib/format';
import '../../features/admin/admin.css';

const INVALIDATES = ['/api/v1/admin', '/api/v1/skus'];

export function CataloguePage() {
  const regions = useGet('/api/v1/admin/regions', {});
  const skus = useGet('/api/v1/admin/skus', { query: { page_size: 200 } });
  const suggestions = useGet('/api/v1/admin/skus/suggestions', {});
  const [regionDialog, setRegionDialog] = useState<{ mode: 'create' } | { mode: 'rename'; region: AdminRegion } | null>(null);
  const [deleting, setDeleting] = useState<AdminRegion | null>(null);
  const [creatingSku, setCreatingSku] = useState<SkuForm | null>(null);
  const [editing, setEditing] = useState<SKU | null>(null);
  const [history, setHistory] = useState<SKU | null>(null);
  const firstRegion = regions.data?.items[0]?.slug ?? '';

  return (
    <Page title="Catalogue" subtitle="Regions, the SKUs users rent and their prices.">
      <div className="catalogue">
        <Card
          title="Regions"
          actions={
            <button type="button" className="button primary" onClick={() => setRegionDialog({ mode: 'create' })}>
              New region
            </button>
          }
        >
          <StateView
            state={regions}
            isEmpty={(d) => d.items.length === 0}
            empty={<Empty title="No regions yet" hint="Create a region, then register nodes and SKUs in it." />}
          >
            {(d) => (
              <DataTable
                caption="Regions"
                rows={d.items}
                rowKey={(r) => r.slug}
                columns={regionColumns(
                  (r) => setRegionDialog({ mode: 'rename', region: r }),
                  (r) => setDeleting(r),
                )}
              />
            )}
          </StateView>
        </Card>

        {(suggestions.data?.items.length ?? 0) > 0 && (
          <Card title="Suggested SKUs">
            <p className="muted small-print">GPUs your nodes reported that no SKU offers yet, one per region, model and GPUs per node.</p>
            <ul className="suggestions">
              {suggestions.data!.items.map((s) => (
                <li key={`${s.region}/${s.gpu_model}/${s.gpu_memory_mib}/${s.gpu_count}`} className="suggestion">
                  <span>
                    <strong>{s.gpu_count} × {s.gpu_model}</strong>{' '}
                    <span className="muted">
                      {formatGpuMemory(s.gpu_memory_mib)} · {s.region} · on {s.node_count} {s.node_count === 1 ? 'node' : 'nodes'}
                    </span>
                  </span>
                  <button type="button" className="button" onClick={() => setCreatingSku(formFromSuggestion(s))}>
                    Create SKU {s.id}
                  </button>
                </li>
              ))}
            </ul>
          </Card>
        )}

        <Card
          title="SKUs"
          actions={
            <button
              type="button"
              className="button primary"
              onClick={() => setCreatingSku(emptySkuForm(firstRegion))}
              disabled={!firstRegion}
              title={firstRegion ? undefined : 'Create a region first'}
            >
              New SKU
            </button>
          }
        >
          <StateView
            state={skus}
            isEmpty={(d) => d.items.length === 0}
            empty={<Empty title="No SKUs yet" hint="Create one, or start from a suggestion once nodes have joined." />}
          >
            {(d) => (
              <DataTable
                caption="SKUs"
                rows={d.items}
                rowKey={(k) => k.id}
                columns={skuColumns({ edit: setEditing, history: setHistory })}
              />
            )}
          </StateView>
        </Card>
      </div>

      <RegionDialog state={regionDialog} onClose={() => setRegionDialog(null)} />
      <DeleteRegionDialog region={deleting} onClose={() => setDeleting(null)} />
      <CreateSkuDialog
        initial={creatingSku}
        regions={regions.data?.items ?? []}
        onClose={() => setCreatingSku(null)}
      />
      <EditSkuDialog sku={editing} onClose={() => setEditing(null)} />
      <PriceHistoryDialog sku={history} onClose={() => setHistory(null)} />
    </Page>
  );
}

function regionColumns(rename: (r: AdminRegion) => void, remove: (r: AdminRegion) => void): Column<AdminRegion>[] {
  return [
    {
      key: 'region',
      header: 'Region',
      render: (r) => (
        <div className="cell-stack">
          <strong>{r.name}</strong>
          <code className="id">{r.slug}</code>
        </div>
      ),
    },
    { key: 'nodes', header: 'Nodes', render: (r) => r.node_count, align: 'right' },
    { key: 'skus', header: 'SKUs', render: (r) => r.sku_count, align: 'right' },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      label: 'Actions',
      render: (r) => (
        <div className="row-actions">
          <button type="button" className="button small" onClick={() => rename(r)} aria-label={`Rename region ${r.slug}`}>
            Rename
          </button>
          <button type="button" className="button small danger" onClick={() => remove(r)} aria-label={`Delete region ${r.slug}`}>
            Delete
          </button>
        </div>
      ),
    },
  ];
}

function skuColumns(on: { edit: (k: SKU) => void; history: (k: SKU) => void }): Column<SKU>[] {
  return [
    {
      key: 'sku',
      header: 'SKU',
      render: (k) => (
        <div className="cell-stack">
          <strong>{k.name}</strong>
          <code className="id">{k.id}</code>
        </div>
      ),
    },
    {
      key: 'shape',
      header: 'GPUs',
      render: (k) => (
        <span>
          {k.gpu_count} × {k.gpu_model} <span className="muted">· {k.region}</span>
        </span>
      ),
    },
    { key: 'price', header: 'Per hour', render: (k) => <Money minor={k.price_per_hour_minor} currency={k.currency} />, align: 'right' },
    {
      key: 'state',
      header: 'State',
      render: (k) => <StatusPill status={k.active ? 'active' : 'inactive'} tone={k.active ? 'success' : 'neutral'} />,
    },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      label: 'Actions',
      render: (k) => (
        <div className="row-actions">
          <button type="button" className="button small" onClick={() => on.edit(k)} aria-label={`Edit SKU ${k.id}`}>
            Edit
          </button>
          <button type="button" className="button small" onClick={() => on.history(k)} aria-label={`Price history of ${k.id}`}>
            History
          </button>
        </div>
      ),
    },
  ];
}

/** The server's words for a field, when its 400 names that field. */
function serverFieldError(err: ApiError | undefined, field: string): string | undefined {
  return err && fieldOfCatalogueError(err) === field ? err.message : undefined;
}

function RegionDialog({
  state,
  onClose,
}: {
  state: { mode: 'create' } | { mode: 'rename'; region: AdminRegion } | null;
  onClose: () => void;
}) {
  const toast = useToast();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [checked, setChecked] = useState(false);
  const renaming = state?.mode === 'rename' ? state.region : null;
  const save = useMutate(
    () =>
      renaming
        ? api.patch('/api/v1/admin/regions/{region_slug}', { path: { region_slug: renaming.slug }, body: { name: name.trim() } })
        : api.post('/api/v1/admin/regions', { body: { slug: slug.trim(), name: name.trim() } }),
    { invalidates: INVALIDATES },
  );
  const { reset } = save;
  useEffect(() => {
    if (!state) return;
    setSlug('');
    setName(state.mode === 'rename' ? state.region.name : '');
    setChecked(false);
    reset();
  }, [state, reset]);

  const slugErr = !renaming && !REGION_SLUG.test(slug.trim()) ? '2 to 32 of a–z, 0–9 and -, starting with a letter.' : null;
  const nameErr = nameError(name);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setChecked(true);
    if (slugErr || nameErr) return;
    const r = await save.run();
    if (r) {
      toast({ tone: 'success', title: renaming ? `Region ${r.slug} renamed` : `Region ${r.slug} created` });
      onClose();
    }
  };
  const serverField = fieldOfCatalogueError(save.error);
  return (
    <Modal
      open={state !== null}
      title={renaming ? `Rename region ${renaming.slug}` : 'New region'}
      onClose={onClose}
      dismissable={!save.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={save.pending}>
            Cancel
          </button>
          <button type="submit" form="region-form" className="button primary" disabled={save.pending}>
            {save.pending ? 'Saving…' : renaming ? 'Rename' : 'Create region'}
          </button>
        </>
      }
    >
      <form id="region-form" onSubmit={submit} noValidate>
        {!renaming && (
          <Field
            label="Slug"
            hint="Never changes; nodes and SKUs name the region by it, e.g. eu-west-1"
            error={(checked && slugErr) || (serverField === 'slug' || serverField === 'id' ? save.error?.message : undefined)}
          >
            {(p) => <input {...p} value={slug} onChange={(e) => setSlug(e.target.value)} autoComplete="off" />}
          </Field>
        )}
        <Field label="Name" hint="What people read, e.g. Amsterdam" error={(checked && nameErr) || serverFieldError(save.error, 'name')}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
      </form>
      {save.error && !serverField && <ErrorBox error={save.error} compact />}
    </Modal>
  );
}

function DeleteRegionDialog({ region, onClose }: { region: AdminRegion | null; onClose: () => void }) {
  const toast = useToast();
  const remove = useMutate(
    (slug: string) => api.delete('/api/v1/admin/regions/{region_slug}', { path: { region_slug: slug } }),
    { invalidates: INVALIDATES },
  );
  const { reset } = remove;
  useEffect(() => {
    if (region) reset();
  }, [region, reset]);
  const inUse = remove.error?.code === 'region_in_use' && region ? regionInUseText(region.slug, remove.error) : null;
  return (
    <ConfirmDialog
      open={region !== null}
      title={`Delete region ${region?.slug ?? ''}?`}
      message="A region can be deleted only while no node and no SKU uses it."
      danger
      confirmLabel="Delete region"
      pending={remove.pending}
      error={inUse ? undefined : remove.error}
      onCancel={onClose}
      onConfirm={async () => {
        if (!region) return;
        const slug = region.slug;
        const ok = await remove.run(slug).then((r) => r !== undefined);
        if (ok) {
          toast({ tone: 'success', title: `Region ${slug} deleted` });
          onClose();
        }
      }}
    >
      {inUse && (
        <p role="alert" className="notice-warning">
          {inUse}
        </p>
      )}
    </ConfirmDialog>
  );
}

function CreateSkuDialog({
  initial,
  regions,
  onClose,
}: {
  initial: SkuForm | null;
  regions: AdminRegion[];
  onClose: () => void;
}) {
  const toast = useToast();
  const [f, setF] = useState<SkuForm>(emptySkuForm());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutate((req: Parameters<typeof createSku>[0]) => createSku(req), { invalidates: INVALIDATES });
  const { reset } = create;
  useEffect(() => {
    if (!initial) return;
    setF(initial);
    setErrors({});
    reset();
  }, [initial, reset]);
  const set = (k: keyof SkuForm) => (e: { target: { value: string } }) => setF((prev) => ({ ...prev, [k]: e.target.value }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = checkSkuForm(f);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    const k = await create.run(checked.req);
    if (k) {
      toast({ tone: 'success', title: `SKU ${k.id} created`, message: 'It is in the marketplace now.' });
      onClose();
    }
  };
  const serverField = fieldOfCatalogueError(create.error);
  const err = (field: string) => errors[field] ?? serverFieldError(create.error, field) ?? (field === 'id' && create.error?.code === 'conflict' ? create.error.message : undefined);
  const input = (label: string, key: keyof SkuForm, field: string, hint?: string, extra: Record<string, string> = {}) => (
    <Field label={label} hint={hint} error={err(field)}>
      {(p) => <input {...p} value={f[key]} onChange={set(key)} autoComplete="off" {...extra} />}
    </Field>
  );
  return (
    <Modal
      open={initial !== null}
      title="New SKU"
      onClose={onClose}
      dismissable={!create.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={create.pending}>
            Cancel
          </button>
          <button type="submit" form="sku-form" className="button primary" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create SKU'}
          </button>
        </>
      }
    >
      <form id="sku-form" onSubmit={submit} noValidate className="form-grid">
        {input('ID', 'id', 'id', 'Never changes, e.g. h100-80gb-x8')}
        {input('Name', 'name', 'name', 'What users read')}
        <Field label="Region" error={err('region')}>
          {(p) => (
            <select {...p} value={f.region} onChange={set('region')}>
              {regions.map((r) => (
                <option key={r.slug} value={r.slug}>
                  {r.name} ({r.slug})
                </option>
              ))}
            </select>
          )}
        </Field>
        {input('GPU model', 'gpu_model', 'gpu_model', 'Exactly as nvidia-smi names it')}
        {input('GPUs', 'gpu_count', 'gpu_count', '1 to 16', { inputMode: 'numeric' })}
        {input('Memory per GPU (MiB)', 'gpu_memory_mib', 'gpu_memory_mib', undefined, { inputMode: 'numeric' })}
        {input('vCPUs', 'vcpu', 'vcpu', undefined, { inputMode: 'numeric' })}
        {input('Memory (GiB)', 'memory_gib', 'memory_mib', undefined, { inputMode: 'numeric' })}
        {input('Disk (GiB)', 'disk_gib', 'disk_gib', undefined, { inputMode: 'numeric' })}
        {input('Currency', 'currency', 'currency', 'ISO code, e.g. USD')}
        {input(`Price per hour (${f.currency.trim().toUpperCase() || 'USD'})`, 'price', 'price_per_hour_minor', 'e.g. 3.49', { inputMode: 'decimal' })}
      </form>
      {create.error && !serverField && create.error.code !== 'conflict' && <ErrorBox error={create.error} compact />}
    </Modal>
  );
}

function createSku(req: import('../../features/admin/catalogue').CreateSKURequest) {
  return api.post('/api/v1/admin/skus', { body: req });
}

function EditSkuDialog({ sku, onClose }: { sku: SKU | null; onClose: () => void }) {
  const toast = useToast();
  const [name, setName] = useState('');
  const [price, setPrice] = useState('');
  const [active, setActive] = useState(true);
  const [checked, setChecked] = useState(false);
  const save = useMutate(
    (id: string, body: { name?: string; price_per_hour_minor?: number; active?: boolean }) =>
      api.patch('/api/v1/admin/skus/{sku_id}', { path: { sku_id: id }, body }),
    { invalidates: INVALIDATES },
  );
  const { reset } = save;
  useEffect(() => {
    if (!sku) return;
    setName(sku.name);
    setPrice(priceInput(sku.price_per_hour_minor, sku.currency));
    setActive(sku.active);
    setChecked(false);
    reset();
  }, [sku, reset]);
  if (!sku) return null;
  const nameErr = nameError(name);
  const parsed = parsePrice(price, sku.currency);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setChecked(true);
    if (nameErr || !parsed.ok) return;
    const body: { name?: string; price_per_hour_minor?: number; active?: boolean } = {};
    if (name.trim() !== sku.name) body.name = name.trim();
    if (parsed.minor !== sku.price_per_hour_minor) body.price_per_hour_minor = parsed.minor;
    if (active !== sku.active) body.active = active;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    const k = await save.run(sku.id, body);
    if (k) {
      toast({ tone: 'success', title: `SKU ${k.id} saved` });
      onClose();
    }
  };
  const priceChanged = parsed.ok && parsed.minor !== sku.price_per_hour_minor;
  return (
    <Modal
      open
      title={`Edit SKU ${sku.id}`}
      onClose={onClose}
      dismissable={!save.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={save.pending}>
            Cancel
          </button>
          <button type="submit" form="sku-edit-form" className="button primary" disabled={save.pending}>
            {save.pending ? 'Saving…' : 'Save'}
          </button>
        </>
      }
    >
      <form id="sku-edit-form" onSubmit={submit} noValidate>
        <Field label="Name" error={(checked && nameErr) || serverFieldError(save.error, 'name')}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        <Field
          label={`Price per hour (${sku.currency})`}
          hint={`Now ${priceInput(sku.price_per_hour_minor, sku.currency)}. Applies to allocations created after the change; running ones keep their price.`}
          error={(checked && !parsed.ok ? parsed.error : undefined) || serverFieldError(save.error, 'price_per_hour_minor')}
        >
          {(p) => <input {...p} value={price} onChange={(e) => setPrice(e.target.value)} inputMode="decimal" autoComplete="off" />}
        </Field>
        <label className="admin-checkbox">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> Offered in the marketplace
        </label>
        {!active && sku.active && (
          <p className="warning-text">Deactivating hides it from the marketplace and refuses new allocations; running ones go on.</p>
        )}
        {priceChanged && (
          <p className="muted small-print">
            New price <Money minor={parsed.minor} currency={sku.currency} /> an hour (was{' '}
            <Money minor={sku.price_per_hour_minor} currency={sku.currency} />
            ).
          </p>
        )}
      </form>
      {save.error && !fieldOfCatalogueError(save.error) && <ErrorBox error={save.error} compact />}
    </Modal>
  );
}

function PriceHistoryDialog({ sku, onClose }: { sku: SKU | null; onClose: () => void }) {
  return (
    <Modal open={sku !== null} title={`Price history of ${sku?.id ?? ''}`} onClose={onClose}>
      {sku && <PriceHistory id={sku.id} />}
    </Modal>
  );
}

function PriceHistory({ id }: { id: string }) {
  const q = useGet('/api/v1/admin/skus/{sku_id}/prices', { path: { sku_id: id } });
  return (
    <StateView state={q} isEmpty={(d) => d.items.length === 0} empty={<Empty title="No price recorded" />}>
      {(d) => (
        <ol className="price-history" aria-label="Prices, newest first">
          {d.items.map((p, i) => (
            <li key={`${p.changed_at}-${i}`}>
              <strong>
                <Money minor={p.price_per_hour_minor} currency={p.currency} />
              </strong>{' '}
              an hour
              {p.previous_price_minor === null ? (
                <span className="muted"> · when created</span>
              ) : (
                <span className="muted">
                  {' '}
                  · was <Money minor={p.previous_price_minor} currency={p.currency} />
                </span>
              )}
              <div className="muted small-print">
                <time dateTime={p.changed_at}>{formatDateTime(p.changed_at)}</time> · {p.changed_by_username ?? 'the platform'}
              </div>
            </li>
          ))}
        </ol>
      )}
    </StateView>
  );
}
