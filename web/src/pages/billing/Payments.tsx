// Paying in: "Add credit" (preset amounts and a custom one, in the
// deployment's currency) starts a Stripe Checkout and sends the browser to
// it; the payment history lists the caller's top-ups with their states and
// opens Stripe's customer portal for receipts. Both hide themselves when the
// server has no Stripe key (GET /api/v1/payments/config says enabled:false).
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { Payment, PaymentsConfig } from '../../api/types';
import { useAccount } from '../../app/account';
import { DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Card } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { parseTopup, presets, statusLabel } from '../../features/user/payments';
import { formatDateTime, formatMoney } from '../../lib/format';
import { newIdempotencyKey } from '../../lib/idempotency';

/** Where the browser goes to pay: Stripe's page (or, in tests, the stand-in's). */
let navigate = (url: string) => window.location.assign(url);
export function setCheckoutNavigator(f: (url: string) => void) {
  navigate = f;
}

export function AddCreditCard({ cfg }: { cfg: PaymentsConfig }) {
  const options = useMemo(() => presets(cfg), [cfg]);
  // Acting for a team: the top-up credits the team (the caller pays).
  const { team, current } = useAccount();
  // The balance banners' "Add credit" lands here (?add_credit=1).
  const [params] = useSearchParams();
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (params.get('add_credit') !== '1') return;
    formRef.current?.scrollIntoView({ block: 'center' });
    formRef.current?.querySelector<HTMLInputElement>('input')?.focus();
  }, [params]);
  const [choice, setChoice] = useState<number | 'custom'>(options[1] ?? options[0] ?? 'custom');
  const [custom, setCustom] = useState('');
  const [touched, setTouched] = useState(false);
  const parsed = choice === 'custom' ? parseTopup(custom, cfg) : ({ ok: true, minor: choice } as const);
  // One key per intended top-up: a double click or a retry is the same checkout.
  const keyRef = useRef<{ for: number; key: string } | null>(null);
  if (parsed.ok && keyRef.current?.for !== parsed.minor) keyRef.current = { for: parsed.minor, key: newIdempotencyKey() };
  const start = useMutate((minor: number, key: string) =>
    api.post('/api/v1/payments/checkout-sessions', {
      body: { amount_minor: minor, currency: cfg.currency, ...(team ? { team } : {}) },
      headers: { 'Idempotency-Key': key },
    }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!parsed.ok || !keyRef.current) return;
    const cs = await start.run(parsed.minor, keyRef.current.key);
    if (cs) navigate(cs.url);
  };
  return (
    <Card title={current ? `Add credit to team ${current.name}` : 'Add credit'}>
      <form ref={formRef} className="topup-form" onSubmit={submit} noValidate data-testid="add-credit">
        <fieldset className="topup-presets">
          <legend>Amount ({cfg.currency})</legend>
          {options.map((m) => (
            <label key={m} className={`topup-chip${choice === m ? ' selected' : ''}`}>
              <input type="radio" name="topup" checked={choice === m} onChange={() => setChoice(m)} />
              {formatMoney(m, cfg.currency)}
            </label>
          ))}
          <label className={`topup-chip${choice === 'custom' ? ' selected' : ''}`}>
            <input type="radio" name="topup" checked={choice === 'custom'} onChange={() => setChoice('custom')} />
            Other
          </label>
        </fieldset>
        {choice === 'custom' && (
          <Field
            label={`Custom amount (${cfg.currency})`}
            hint={`${formatMoney(cfg.min_minor, cfg.currency)} to ${formatMoney(cfg.max_minor, cfg.currency)}`}
            error={touched && !parsed.ok ? parsed.error : undefined}
          >
            {(p) => (
              <input {...p} inputMode="decimal" autoComplete="off" placeholder="40.00" value={custom} onChange={(e) => setCustom(e.target.value)} />
            )}
          </Field>
        )}
        {start.error && <ErrorBox error={start.error} compact />}
        <button type="submit" className="button primary" disabled={start.pending}>
          {start.pending ? 'Opening checkout…' : parsed.ok ? `Pay ${formatMoney(parsed.minor, cfg.currency)}` : 'Add credit'}
        </button>
        <p className="muted fine-print">You pay on Stripe’s page; the credit is added as soon as Stripe confirms the payment.</p>
      </form>
    </Card>
  );
}

const columns: Column<Payment>[] = [
  { key: 'when', header: 'Started', render: (p) => <Link to={`/billing/payments/${p.id}`}>{formatDateTime(p.created_at)}</Link> },
  { key: 'amount', header: 'Amount', align: 'right', render: (p) => <Money minor={p.amount_minor} currency={p.currency} /> },
  { key: 'status', header: 'Status', render: (p) => <StatusPill status={p.status} label={statusLabel(p.status)} /> },
  {
    key: 'refunded',
    header: 'Refunded',
    align: 'right',
    hideOnMobile: true,
    render: (p) => (p.refunded_minor > 0 ? <Money minor={p.refunded_minor} currency={p.currency} /> : '—'),
  },
];

export function PaymentHistoryCard() {
  const pager = useCursorPager();
  const q = useGet('/api/v1/payments', { query: { cursor: pager.cursor, page_size: 10 } }, { refetchInterval: 30_000 });
  const portal = useMutate(() => api.post('/api/v1/payments/portal-session', {}));
  const openPortal = async () => {
    const ps = await portal.run();
    if (ps) navigate(ps.url);
  };
  return (
    <Card
      title="Payments"
      actions={
        <button type="button" className="button" onClick={openPortal} disabled={portal.pending} data-testid="receipts">
          {portal.pending ? 'Opening…' : 'Receipts and cards'}
        </button>
      }
    >
      {portal.error && <ErrorBox error={portal.error} compact />}
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0 && !pager.canBack}
        empty={<Empty title="No payments yet" hint="Top-ups you start with Add credit appear here." />}
        loadingLabel="Loading payments…"
      >
        {(d) => (
          <>
            <DataTable caption="Payments" columns={columns} rows={d.items} rowKey={(p) => p.id} />
            <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
          </>
        )}
      </StateView>
    </Card>
  );
}
