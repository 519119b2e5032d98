// One payment: its amounts and state, the Stripe ids support needs, its
// refunds (ours and those made in Stripe's dashboard), and the refund form
// (full or partial, with a reason kept in the audit log).
import { useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { PaymentDetail } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import { parseAmount } from '../../features/admin/amount';
import { useUserLookup } from '../../features/admin/lookups';
import { statusLabel } from '../../features/user/payments';
import { currencyDigits, formatDateTime, formatMoney, shortId } from '../../lib/format';
import { newIdempotencyKey } from '../../lib/idempotency';
import '../../features/admin/admin.css';

const REASON_MAX = 500;

export function AdminPaymentPage() {
  const { id = '' } = useParams();
  const q = useGet('/api/v1/admin/payments/{payment_id}', { path: { payment_id: id } });
  return (
    <Page title="Payment" breadcrumb={<Link to="/admin/payments">Payments</Link>}>
      <StateView state={q} loadingLabel="Loading the payment…">
        {(d) => (
          <>
            <Summary d={d} />
            {(d.payment.status === 'succeeded' || d.payment.status === 'partially_refunded') && <RefundForm d={d} />}
            <Card title="Refunds">
              {d.refunds.length === 0 ? (
                <p className="muted">No refunds.</p>
              ) : (
                <DataTable
                  caption="Refunds"
                  rows={d.refunds}
                  rowKey={(r) => r.id}
                  columns={[
                    { key: 'when', header: 'When', render: (r) => formatDateTime(r.created_at) },
                    { key: 'amount', header: 'Amount', align: 'right', render: (r) => <Money minor={r.amount_minor} currency={d.payment.currency} /> },
                    { key: 'source', header: 'By', render: (r) => (r.source === 'admin' ? 'an admin, here' : 'Stripe dashboard') },
                    { key: 'reason', header: 'Reason', hideOnMobile: true, render: (r) => r.reason },
                  ]}
                />
              )}
            </Card>
          </>
        )}
      </StateView>
    </Page>
  );
}

function Summary({ d }: { d: PaymentDetail }) {
  const p = d.payment;
  const users = useUserLookup();
  const rows: [string, ReactNode][] = [
    ['Amount', <Money minor={p.amount_minor} currency={p.currency} />],
    [
      'Status',
      <>
        <StatusPill status={p.status} label={statusLabel(p.status)} />
        {p.mismatch && <span className="muted small-print"> {p.mismatch}</span>}
      </>,
    ],
    ['Refunded', <Money minor={p.refunded_minor} currency={p.currency} />],
    ['Held by a dispute', <Money minor={p.disputed_minor} currency={p.currency} />],
    ['User', <Link to={`/admin/users/${p.user_id}`}>{users.name(p.user_id) ?? shortId(p.user_id)}</Link>],
    ['Started', formatDateTime(p.created_at)],
    ['Credited', p.credited_at ? formatDateTime(p.credited_at) : '—'],
    ['Checkout Session', <code>{p.stripe_checkout_session_id}</code>],
    ['Customer', <code>{p.stripe_customer_id}</code>],
    ['PaymentIntent', p.stripe_payment_intent_id ? <code>{p.stripe_payment_intent_id}</code> : '—'],
  ];
  return (
    <Card>
      <dl className="kv" data-testid="payment-summary">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className="kv-id">{v}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}

function RefundForm({ d }: { d: PaymentDetail }) {
  const p = d.payment;
  const toast = useToast();
  const left = p.amount_minor - p.refunded_minor;
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [touched, setTouched] = useState(false);
  const parsed = useMemo(() => parseAmount(amount, currencyDigits(p.currency)), [amount, p.currency]);
  const amountError = !touched
    ? undefined
    : !parsed.ok
      ? parsed.error
      : parsed.minor < 0
        ? 'Enter a positive amount.'
        : parsed.minor > left
          ? `At most ${formatMoney(left, p.currency)} is left to refund.`
          : undefined;
  const why = reason.trim();
  const keyRef = useRef<{ for: string; key: string } | null>(null);
  const intent = `${parsed.ok ? parsed.minor : ''}|${why}`;
  if (keyRef.current?.for !== intent) keyRef.current = { for: intent, key: newIdempotencyKey() };
  const refund = useMutate(
    (minor: number, r: string, key: string) =>
      api.post('/api/v1/admin/payments/{payment_id}/refunds', {
        path: { payment_id: p.id },
        body: { amount_minor: minor, reason: r },
        headers: { 'Idempotency-Key': key },
      }),
    { invalidates: ['/api/v1/admin/payments', '/api/v1/admin/users', '/api/v1/admin/audit-logs'] },
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!parsed.ok || parsed.minor <= 0 || parsed.minor > left || why === '') return;
    const out = await refund.run(parsed.minor, why, keyRef.current!.key);
    if (out) {
      toast({ tone: 'success', title: `Refunded ${formatMoney(parsed.minor, p.currency)}`, message: 'The user’s balance went down by the same.' });
      setAmount('');
      setReason('');
      setTouched(false);
    }
  };
  return (
    <Card title="Refund">
      <form className="adjust-form" onSubmit={submit} noValidate data-testid="refund-form">
        <Field label={`Amount (${p.currency})`} hint={`Up to ${formatMoney(left, p.currency)}`} error={amountError}>
          {(f) => <input {...f} inputMode="decimal" autoComplete="off" value={amount} onChange={(e) => setAmount(e.target.value)} />}
        </Field>
        <Field label="Reason" hint="Kept in the audit log." error={touched && why === '' ? 'Say why.' : undefined}>
          {(f) => <textarea {...f} rows={2} maxLength={REASON_MAX} value={reason} onChange={(e) => setReason(e.target.value)} />}
        </Field>
        {refund.error && <ErrorBox error={refund.error} compact />}
        <button type="submit" className="button danger" disabled={refund.pending}>
          {refund.pending ? 'Refunding…' : parsed.ok && parsed.minor > 0 ? `Refund ${formatMoney(parsed.minor, p.currency)}` : 'Refund'}
        </button>
      </form>
    </Card>
  );
}
