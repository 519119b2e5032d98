// The marketplace's create dialog: the SKU's shape, what it costs per hour
// and per day, how long the balance lasts at that price, an optional name,
// what it runs (the app picker: Shell, Jupyter, a custom container), then POST /api/v1/allocations with an Idempotency-Key (a double click or a
// retry after a lost answer creates one allocation, not two) and on to the
// allocation's page.
import { useId, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { routeMissing } from '../../api/errors';
import { useGet, useMutate } from '../../api/query';
import type { Allocation, SKU } from '../../api/types';
import { useAccount } from '../../app/account';
import { useBalance } from '../../app/balance';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Money } from '../../components/Money';
import { useToast } from '../../components/Toast';
import { formatDuration, formatGiB, formatGpuMemory, formatMoney, formatSize } from '../../lib/format';
import { newIdempotencyKey } from '../../lib/idempotency';
import { MIN_RUNWAY_SECONDS, estimateCreate } from './estimate';
import { WorkloadPicker, pickerChoices } from './WorkloadPicker';
import { buildWorkload, emptyWorkloadForm, routeFieldError, type WorkloadForm } from './workload';
import './user.css';

const NAME_MAX = 63;

export function CreateAllocationDialog({ sku, onClose }: { sku: SKU | null; onClose: () => void }) {
  return sku ? <CreateDialog key={sku.id} sku={sku} onClose={onClose} /> : null;
}

function CreateDialog({ sku, onClose }: { sku: SKU; onClose: () => void }) {
  const formId = useId();
  const balance = useBalance();
  const { team, current } = useAccount();
  const navigate = useNavigate();
  const toast = useToast();
  const [name, setName] = useState('');
  const trimmed = name.trim();
  // SSH keys to install: all by default (ssh_key_ids left out, so keys added
  // later reach it too); unticking some sends the chosen ids.
  const keys = useGet('/api/v1/ssh-keys', { query: { page_size: 50 } });
  const [unticked, setUnticked] = useState<ReadonlySet<string>>(new Set());
  const allKeys = keys.data?.items ?? [];
  const chosen = unticked.size === 0 ? undefined : allKeys.filter((k) => !unticked.has(k.id)).map((k) => k.id);
  // What it runs: the catalogue (an older server without one, or one that
  // failed to load, leaves the shell alone).
  const launchables = useGet('/api/v1/launchables', {});
  const choices = pickerChoices(launchables.data?.items);
  const catalogueNote =
    launchables.error && !routeMissing(launchables.error)
      ? 'The list of apps could not be loaded, so only a shell is offered. Close and reopen to try again.'
      : undefined;
  const [workloadForm, setWorkloadForm] = useState<WorkloadForm>(emptyWorkloadForm);
  const [tried, setTried] = useState(false);
  const built = buildWorkload(
    workloadForm,
    choices.find((c) => c.id === workloadForm.launchable),
  );
  const workloadJson = JSON.stringify(built.workload ?? null);
  // One key per request body: a retry of the same request replays, an edited
  // name, key choice or workload is a new request (the same key with another body would be a 422).
  const key = useMemo(() => newIdempotencyKey(), [sku.id, trimmed, chosen?.join(','), workloadJson, team]); // eslint-disable-line react-hooks/exhaustive-deps
  const est = estimateCreate(sku, balance.data);
  const create = useMutate(
    () =>
      api.post('/api/v1/allocations', {
        body: {
          sku_id: sku.id,
          ...(trimmed ? { name: trimmed } : {}),
          ...(chosen ? { ssh_key_ids: chosen } : {}),
          ...(built.workload ? { workload: built.workload } : {}),
          ...(team ? { team } : {}),
        },
        headers: { 'Idempotency-Key': key },
      }),
    // Sold out or short of credit: the marketplace and the balance on screen are stale either way.
    { invalidates: ['/api/v1/allocations', '/api/v1/skus', '/api/v1/billing'] },
  );
  const nameError = trimmed.length > NAME_MAX ? `At most ${NAME_MAX} characters.` : undefined;
  // The server's 400 about a workload field goes under that field (while
  // the form is as it was sent); the client's own checks show after a try.
  const [sentJson, setSentJson] = useState<string | null>(null);
  const aboutWorkload = routeFieldError(create.error, workloadForm);
  const routed = sentJson === workloadJson ? aboutWorkload : null;
  const fieldErrors = {
    ...(tried ? built.errors : {}),
    ...(routed ? { [routed.key]: routed.message } : {}),
  };
  const clientInvalid = Object.keys(built.errors).length > 0;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (create.pending || nameError) return;
    if (clientInvalid) {
      create.reset();
      return;
    }
    setSentJson(workloadJson);
    const a = (await create.run()) as Allocation | undefined;
    if (!a) return;
    toast({ tone: 'success', title: 'Allocation requested', message: `${a.name || sku.name} is being prepared.` });
    onClose();
    navigate(`/allocations/${a.id}`);
  };

  return (
    <Modal
      open
      title={`Create ${sku.name}`}
      onClose={onClose}
      size="medium"
      dismissable={!create.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={create.pending}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button primary" disabled={create.pending || !!nameError || est.likelyRefused}>
            {create.pending ? 'Creating…' : `Create for ${formatMoney(est.perHourMinor, est.currency)}/h`}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={onSubmit} noValidate data-testid="create-allocation-form">
        <dl className="spec-list">
          <div>
            <dt>GPUs</dt>
            <dd>
              {sku.gpu_count} × {sku.gpu_model}
            </dd>
          </div>
          <div>
            <dt>GPU memory</dt>
            <dd>{formatGpuMemory(sku.gpu_memory_mib)} each</dd>
          </div>
          <div>
            <dt>CPU / memory / disk</dt>
            <dd>
              {sku.vcpu} vCPU · {formatSize(sku.memory_mib)} · {formatGiB(sku.disk_gib)}
            </dd>
          </div>
          <div>
            <dt>Region</dt>
            <dd>{sku.region}</dd>
          </div>
          <div>
            <dt>Billed to</dt>
            <dd data-testid="billed-to">{current ? `Team ${current.name}` : team ? `Team ${team}` : 'You'}</dd>
          </div>
        </dl>

        <div className="estimate" aria-label="Cost estimate" role="group" data-testid="estimate">
          <div className="estimate-main">
            <span className="estimate-label">Estimated cost</span>
            <span className="estimate-price">
              <Money minor={est.perHourMinor} currency={est.currency} />
              <span className="muted"> / hour</span>
            </span>
            <span className="muted">
              about <Money minor={est.perDayMinor} currency={est.currency} /> a day, billed by the second
            </span>
          </div>
          <div className="estimate-runway">
            <span className="estimate-label">{team ? "The team's balance lasts" : 'Your balance lasts'}</span>
            {balance.data && !est.currencyMismatch ? (
              <>
                <strong data-testid="estimate-runway">
                  {est.runway === null ? 'indefinitely' : formatDuration(est.runway)}
                </strong>
                <span className="muted">
                  <Money minor={est.availableMinor} currency={est.currency} /> available
                  {est.runwayWithRunning !== null ? (
                    <>
                      , with what you already run (
                      <Money minor={est.totalPerHourMinor} currency={est.currency} />
                      /h in total)
                    </>
                  ) : (
                    ' at this price'
                  )}
                </span>
              </>
            ) : balance.error ? (
              <span className="muted">Your balance could not be loaded.</span>
            ) : est.currencyMismatch ? (
              <span className="muted">Your balance is in another currency.</span>
            ) : (
              <span className="muted">Loading your balance…</span>
            )}
          </div>
        </div>
        {est.likelyRefused && (
          <div className="notice notice-caution" role="note" data-testid="short-of-credit">
            Not enough credit: starting this needs <Money minor={est.requiredMinor} currency={est.currency} /> (
            {formatDuration(MIN_RUNWAY_SECONDS)} at <Money minor={est.totalPerHourMinor} currency={est.currency} />
            /h) and you have <Money minor={Math.max(0, est.availableMinor)} currency={est.currency} />.{' '}
            <Link to="/billing">See billing</Link>.
          </div>
        )}

        <Field
          label="Name (optional)"
          hint="Shown in your lists. Leave it empty for a generated name."
          error={nameError}
        >
          {(p) => (
            <input
              {...p}
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={NAME_MAX + 20}
              autoComplete="off"
              placeholder="e.g. llama-finetune"
            />
          )}
        </Field>
        <WorkloadPicker
          choices={choices}
          form={workloadForm}
          onChange={setWorkloadForm}
          errors={fieldErrors}
          catalogueNote={catalogueNote}
          disabled={create.pending}
        />
        {allKeys.length > 0 ? (
          <fieldset className="key-choice" data-testid="key-choice">
            <legend>SSH keys to install</legend>
            {allKeys.map((k) => (
              <label key={k.id} className="key-choice-item">
                <input
                  type="checkbox"
                  checked={!unticked.has(k.id)}
                  onChange={(e) =>
                    setUnticked((prev) => {
                      const next = new Set(prev);
                      if (e.target.checked) next.delete(k.id);
                      else next.add(k.id);
                      return next;
                    })
                  }
                />
                <span>
                  {k.name} <code className="muted">{k.fingerprint}</code>
                </span>
              </label>
            ))}
            <p className="muted fine-print">
              {chosen === undefined
                ? 'All your keys, and any you add later.'
                : chosen.length === 0
                  ? 'No key: log in with the browser terminal.'
                  : `Only these ${chosen.length}; keys you add later are not installed.`}
            </p>
          </fieldset>
        ) : (
          <p className="muted fine-print">
            Add <Link to="/keys">SSH keys</Link> to log in with ssh (they reach running allocations too); the browser
            terminal works without one.
          </p>
        )}
        {tried && clientInvalid && (
          <p className="field-error form-summary" role="alert" data-testid="workload-invalid">
            Check the fields marked above.
          </p>
        )}
        {routed ? (
          <p className="field-error form-summary" role="alert" data-testid="workload-refused">
            Not accepted: {routed.message} See the field marked above.
          </p>
        ) : (
          // Once the field it named has been edited, the refusal is stale: nothing to show.
          create.error && !aboutWorkload && <ErrorBox error={create.error} compact />
        )}
      </form>
    </Modal>
  );
}
