// Whether this server takes payments (GET /api/v1/payments/config), shared
// by the shell's balance banners and the billing page.
import { useGet } from '../api/query';
import type { PaymentsConfig } from '../api/types';

/** The payments settings, or undefined while loading or when payments are off. */
export function usePayments(): PaymentsConfig | undefined {
  const q = useGet('/api/v1/payments/config', {});
  return q.data?.enabled ? q.data : undefined;
}
