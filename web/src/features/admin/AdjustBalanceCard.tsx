// An admin's balance card for any account (a user's or a team's): the
// balance as its holder sees it, and an audited credit or debit with a
// reason. One Idempotency-Key per intended adjustment: a retry of the same
// amount and reason (say, after a timeout) reuses it, so money moves once.
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { useMutate, type ApiState } from '../../api/query';
import type { Balance } from '../../api/types';
import { useBalance } from '../../app/balance';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Card } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { currencyDigits, formatDuration, formatMoney } from '../../lib/format';
import { newIdempotencyKey } from '../../lib/idempotency';
import { parseAmount } from './amount';

const REASON_MAX = 500;

export function AdjustBalanceCard({
  who,
  balance,
  currencyHint,
  post,
  onAdjusted,
}: {
  /** Whose balance: a username or a team's name, for the messages. */
  who: string;
  balance: ApiState<Balance>;
  currencyHint: string | undefined;
  /** Posts the adjustment with its Idempotency-Key and answers the balance after it. */
  post: (minor: number, reason: string, key: string) => Promise<Balance>;
  onAdjusted: (b: Balance) => void;
}) {
  const toast = useToast();
  const own = useBalance();
  // Every account is kept in the platform's one currency: the user's balance's,
  // else the last adjustment's, or the admin's own balance's.
  const currency = balance.data?.currency ?? currencyHint ?? own.data?.currency ?? 'USD';
  const digits = currencyDigits(currency);
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [touched, setTouched] = useState(false);
  const parsed = useMemo(() => parseAmount(amount, digits), [amount, digits]);
  const trimmedReason = reason.trim();
  // One key per intended adjustment: a retry of the same amount and reason
  // (say, after a timeout) reuses it, so money moves once.
  const keyRef = useRef<{ for: string; key: string } | null>(null);
  const intent = `${parsed.ok ? parsed.minor : ''}|${trimmedReason}`;
  if (keyRef.current?.for !== intent) keyRef.current = { for: intent, key: newIdempotencyKey() };

  const adjust = useMutate(post, {
    invalidates: ['/api/v1/admin/users', '/api/v1/admin/teams', '/api/v1/admin/audit-logs', '/api/v1/admin/overview', '/api/v1/billing'],
  });

  const amountError = touched && !parsed.ok ? parsed.error : undefined;
  const reasonError =
    touched && trimmedReason === ''
      ? 'Say why; the reason is kept in the audit log.'
      : reason.length > REASON_MAX
        ? `At most ${REASON_MAX} characters.`
        : undefined;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!parsed.ok || trimmedReason === '' || reason.length > REASON_MAX) return;
    const b = await adjust.run(parsed.minor, trimmedReason, keyRef.current!.key);
    if (b) {
      toast({
        tone: 'success',
        title: `${parsed.minor > 0 ? 'Credited' : 'Debited'} ${formatMoney(Math.abs(parsed.minor), currency)}`,
        message: `${who}'s balance is now ${formatMoney(b.balance_minor, b.currency)}.`,
      });
      setAmount('');
      setReason('');
      setTouched(false);
      keyRef.current = null;
      onAdjusted(b);
    }
  };

  const verb = parsed.ok ? (parsed.minor > 0 ? 'Credit' : 'Debit') : 'Adjust';
  return (
    <Card title="Balance">
      <div className="balance-now" data-testid="user-balance" aria-busy={balance.loading}>
        <StateView state={balance} loadingLabel={`Loading ${who}’s balance`}>
          {(b) => (
            <>
              <div className="stat-value">
                <Money minor={b.balance_minor} currency={b.currency} />
              </div>
              <p className="muted">
                {balanceNote(b)}
                {b.unbilled_minor > 0 && (
                  <>
                    {' '}
                    · <Money minor={b.unbilled_minor} currency={b.currency} /> of usage not yet billed
                  </>
                )}
                {b.runway_seconds != null && <> · lasts about {formatDuration(b.runway_seconds)}</>}
              </p>
            </>
          )}
        </StateView>
      </div>
      <form className="adjust-form" onSubmit={submit} noValidate>
        <Field
          label={`Amount (${currency})`}
          hint="Positive credits the account, negative (e.g. -5.00) debits it."
          error={amountError}
        >
          {(p) => (
            <input
              {...p}
              inputMode="decimal"
              autoComplete="off"
              placeholder="12.34"
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
            />
          )}
        </Field>
        <Field label="Reason" hint={`Kept in the audit log. ${reason.length}/${REASON_MAX}`} error={reasonError}>
          {(p) => (
            <textarea {...p} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={REASON_MAX} />
          )}
        </Field>
        {adjust.error && <ErrorBox error={adjust.error} compact />}
        <button
          type="submit"
          className={`button ${parsed.ok && parsed.minor < 0 ? 'danger' : 'primary'}`}
          disabled={adjust.pending}
        >
          {adjust.pending
            ? 'Posting…'
            : parsed.ok
              ? `${verb} ${formatMoney(Math.abs(parsed.minor), currency)}`
              : 'Adjust balance'}
        </button>
      </form>
    </Card>
  );
}

/** The line under the balance: what the user is spending now. */
export function balanceNote(b: Pick<Balance, 'burn_rate_per_hour_minor' | 'currency'>): string {
  return b.burn_rate_per_hour_minor > 0
    ? `Spending ${formatMoney(b.burn_rate_per_hour_minor, b.currency)} an hour`
    : 'Nothing running';
}

