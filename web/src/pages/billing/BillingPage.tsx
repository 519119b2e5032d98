import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, user screens): replace this placeholder with the real screen.
export function BillingPage() {
  return (
    <Page title="Billing" subtitle="Balance, usage and exports.">
      <Placeholder
        todo={[
          "Balance (useBalance() from app/balance) with burn rate and runway.",
          "Usage table with cursor pagination (GET /api/v1/billing/usage).",
          "CSV export via download('/api/v1/billing/usage/csv', …) from api/client.",
        ]}
      />
    </Page>
  );
}
