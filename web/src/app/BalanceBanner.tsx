// The balance banners under the top bar: a warning when the balance is low
// (the runway is under the server's threshold, or the server said so), and a
// distinct danger banner when it has run out; both with "Add credit", which
// opens the billing page's add-credit action (/billing?add_credit=1), or
// "Billing" when the server takes no payments.
// Dismissing the low one does not hide a later depleted one.
import { useState } from 'react';
import { Link } from 'react-router';
import { Icon } from '../components/Icon';
import { Money } from '../components/Money';
import { formatDuration } from '../lib/format';
import { usePayments } from './payments';
import { balanceAlert, useBalance, type BalanceAlert } from './balance';
import { useNotificationListener } from './notifications';

export function BalanceBanner() {
  const balance = useBalance();
  const payments = usePayments();
  const [notified, setNotified] = useState<BalanceAlert>(null);
  const [dismissed, setDismissed] = useState<BalanceAlert>(null);
  useNotificationListener((n) => {
    if (n.type === 'billing.low_balance' || n.type === 'billing.auto_release_pending') {
      setNotified((cur) => (cur === 'depleted' ? cur : 'low'));
      setDismissed(null);
    }
    if (n.type === 'billing.balance_depleted') {
      setNotified('depleted');
      setDismissed(null);
    }
    if (n.type === 'billing.balance_credited' || n.type === 'payment.succeeded') setNotified(null);
  });
  const b = balance.data;
  if (!b) return null;
  const alert = balanceAlert(b, notified);
  // Dismissing a low-balance banner does not hide a later depleted one.
  if (!alert || dismissed === alert) return null;
  const left = b.balance_minor - b.unbilled_minor;
  // Without payments an admin adds credit: the button goes to Billing.
  const addCredit = payments ? (
    <Link to="/billing?add_credit=1" className="button small primary" data-testid="add-credit-link">
      Add credit
    </Link>
  ) : (
    <Link to="/billing" className="button small">
      Billing
    </Link>
  );
  if (alert === 'depleted') {
    return (
      <div className="banner banner-danger" role="region" aria-label="Balance depleted" data-testid="depleted-balance-banner">
        <Icon name="warning" />
        <p>
          <strong>Your balance has run out:</strong> <Money minor={left} currency={b.currency} signed={left < 0} />. Running
          allocations are released and new ones cannot start until you add credit.
        </p>
        {addCredit}
        <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setDismissed('depleted')}>
          ×
        </button>
      </div>
    );
  }
  return (
    <div className="banner banner-warning" role="region" aria-label="Low balance" data-testid="low-balance-banner">
      <Icon name="warning" />
      <p>
        <strong>Your balance is low:</strong> <Money minor={left} currency={b.currency} /> left
        {b.runway_seconds != null && <> — about {formatDuration(b.runway_seconds)} at the current rate</>}. Running
        allocations are released when it reaches zero.
      </p>
      {addCredit}
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setDismissed('low')}>
        ×
      </button>
    </div>
  );
}
