// Short names for the generated schema types. Import from here, not from
// schema.d.ts directly, so screens read `User` rather than a path expression.
import type { components } from './schema';

type S = components['schemas'];

export type User = S['User'];
export type Role = S['Role'];
export type SKU = S['SKU'];
export type Node = S['Node'];
export type NodeStatus = S['NodeStatus'];
export type NodeAdminState = S['NodeAdminState'];
export type GPU = S['GPU'];
export type Allocation = S['Allocation'];
export type AllocationStatus = S['AllocationStatus'];
export type Connection = S['Connection'];
export type AuditLog = S['AuditLog'];
export type Overview = S['Overview'];
export type Money = S['Money'];
export type Balance = S['BalanceResponse'];
export type UsageRecord = S['UsageRecord'];
export type StorageCharge = S['StorageCharge'];
export type Payment = S['Payment'];
export type PaymentStatus = S['PaymentStatus'];
export type PaymentDetail = S['PaymentDetail'];
export type PaymentsConfig = S['PaymentsConfig'];
export type ReconcileReport = S['ReconcileReport'];
export type SSHKey = S['SSHKey'];
export type JoinToken = S['JoinToken'];
export type TerminalToken = S['TerminalToken'];
export type TokenPair = S['TokenPair'];
export type ErrorEnvelope = S['Error'];
/** A notification as the server keeps it (GET /api/v1/notifications); the live message is api/notifications.ts. */
export type StoredNotification = S['Notification'];
export type NotificationList = S['NotificationList'];
export type UserSummary = S['UserSummary'];
export type PasswordResetLink = S['PasswordResetLink'];
export type AuditActionInfo = S['AuditActionInfo'];
export type Launchable = S['Launchable'];
export type LaunchableParam = S['LaunchableParam'];
export type WorkloadRequest = S['WorkloadRequest'];
export type WorkloadPort = S['WorkloadPort'];
export type AllocationWorkload = S['AllocationWorkload'];
export type AllocationApp = S['AllocationApp'];
export type AllocationEvent = S['AllocationEvent'];
export type AppTicket = S['AppTicket'];

/** Every list endpoint answers this shape (docs/api.md, "Lists"). */
export interface Page<T> {
  items: T[];
  next_cursor: string;
}
export type GPUMetrics = S['GPUMetrics'];
export type APIToken = S['APIToken'];
export type APITokenScope = S['APITokenScope'];
export type CreatedAPIToken = S['CreatedAPIToken'];
export type Team = S['Team'];
export type TeamMember = S['TeamMember'];
export type TeamRole = S['TeamRole'];
export type SpendLimits = S['SpendLimits'];
export type SpendLimitsRequest = S['SpendLimitsRequest'];
export type DailySpend = S['DailySpend'];
export type DailySpendItem = S['DailySpendItem'];
export type NotificationPreferences = S['NotificationPreferences'];
