// Where Stripe Checkout sends the browser back (success or cancel): the
// payment's outcome, refetched until it is no longer pending, since the
// webhook that credits it may arrive a moment after the browser does.
import { Link, useParams, useSearchParams } from 'react-router';
import { useGet } from '../../api/query';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { paymentOutcome, statusLabel } from '../../features/user/payments';
import { formatDateTime } from '../../lib/format';

export function PaymentReturnPage() {
  const { id = '' } = useParams();
  const [search] = useSearchParams();
  const cancelled = search.get('cancelled') === '1';
  const q = useGet(
    '/api/v1/payments/{payment_id}',
    { path: { payment_id: id } },
    { refetchInterval: (d) => (d?.status === 'pending' && !cancelled ? 2_000 : false) },
  );
  return (
    <Page title="Payment" breadcrumb={<Link to="/billing">Billing</Link>}>
      <StateView state={q} loadingLabel="Loading the payment…">
        {(p) => (
          <Card>
            <div className="payment-outcome" data-testid="payment-outcome" data-status={p.status}>
              <div className="stat-value">
                <Money minor={p.amount_minor} currency={p.currency} />
              </div>
              <StatusPill status={p.status} label={statusLabel(p.status)} />
              <p>{cancelled && p.status === 'pending' ? 'You left the checkout; nothing was charged. You can start again.' : paymentOutcome(p.status)}</p>
              <p className="muted fine-print">Started {formatDateTime(p.created_at)}</p>
              <Link to="/billing" className="button primary">
                Back to billing
              </Link>
            </div>
          </Card>
        )}
      </StateView>
    </Page>
  );
}
