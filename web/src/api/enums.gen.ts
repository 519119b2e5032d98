// Generated from api/openapi.yaml by scripts/gen-enums.mjs; do not edit.
import type { components } from './schema';

export const ALLOCATION_STATUSES = ['requested', 'provisioning', 'active', 'releasing', 'released', 'failed', 'release_failed'] as const satisfies readonly components['schemas']['AllocationStatus'][];
export const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'expired', 'refunded', 'partially_refunded', 'disputed', 'failed_reconcile'] as const satisfies readonly components['schemas']['PaymentStatus'][];
