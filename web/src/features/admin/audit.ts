// Reading the audit log: a sentence for each known action, the metadata as
// label/value pairs, and the time-range filter (datetime-local inputs in the
// browser's zone ↔ the API's RFC 3339).
import { api } from '../../api/client';
import { routeMissing, toApiError } from '../../api/errors';
import { useApiQuery } from '../../api/query';
import type { AuditLog } from '../../api/types';
import { formatBytes, formatDateTime, formatMoney } from '../../lib/format';

/** The actions the server records (internal/audit), for the action filter's suggestions. */
export const AUDIT_ACTIONS: { value: string; label: string }[] = [
  { value: 'allocation.transition', label: 'Allocation status change' },
  { value: 'billing.adjustment', label: 'Balance adjustment' },
  { value: 'billing.usage_close', label: 'Usage window closed' },
  { value: 'node.create', label: 'Node created' },
  { value: 'node.disable', label: 'Node disabled' },
  { value: 'node.enable', label: 'Node enabled' },
  { value: 'node.join_token_issue', label: 'Join token issued' },
  { value: 'node.join', label: 'Node joined' },
  { value: 'node.credentials_revoke', label: 'Node credentials revoked' },
  { value: 'user.create', label: 'User created' },
  { value: 'user.password_change', label: 'Password changed' },
  { value: 'user.role_change', label: 'Role changed' },
  { value: 'auth.login', label: 'Sign-in' },
  { value: 'auth.login_failed', label: 'Failed sign-in' },
  { value: 'auth.logout', label: 'Sign-out' },
  { value: 'auth.refresh_reuse_detected', label: 'Refresh token reuse' },
  { value: 'ssh_key.add', label: 'SSH key added' },
  { value: 'ssh_key.delete', label: 'SSH key deleted' },
  { value: 'terminal.session_start', label: 'Terminal opened' },
  { value: 'terminal.session_end', label: 'Terminal closed' },
  { value: 'ssh.session_start', label: 'SSH connection opened' },
  { value: 'ssh.session_end', label: 'SSH connection closed' },
  { value: 'signing_key.rotate', label: 'Signing key rotated' },
  { value: 'node.cordon', label: 'Node cordoned' },
  { value: 'allocation.force_release', label: 'Force release' },
  { value: 'user.suspend', label: 'User suspended' },
  { value: 'user.unsuspend', label: 'User unsuspended' },
  { value: 'user.update', label: 'User changed' },
  { value: 'user.email_change', label: 'Email changed' },
  { value: 'user.delete', label: 'User deleted' },
  { value: 'user.password_reset_issue', label: 'Password reset link issued' },
  { value: 'user.password_reset', label: 'Password reset' },
  { value: 'storage.upload', label: 'File uploaded' },
  { value: 'storage.mkdir', label: 'Folder created' },
  { value: 'storage.rename', label: 'File or folder moved' },
  { value: 'storage.delete', label: 'File or folder deleted' },
  { value: 'storage.quota_set', label: 'Storage quota set' },
];

/** Categories: the part of an action before its dot ("allocation", "billing", "auth" …). */
export const AUDIT_CATEGORIES: { value: string; label: string }[] = [
  { value: 'allocation', label: 'Allocations' },
  { value: 'billing', label: 'Billing' },
  { value: 'auth', label: 'Sign-ins' },
  { value: 'user', label: 'Users' },
  { value: 'node', label: 'Nodes' },
  { value: 'ssh_key', label: 'SSH keys' },
  { value: 'terminal', label: 'Terminal' },
  { value: 'signing_key', label: 'Signing keys' },
  { value: 'storage', label: 'Storage' },
];

export function categoryOf(action: string): string {
  const i = action.indexOf('.');
  return i < 0 ? action : action.slice(0, i);
}

/**
 * The readable name of one entry: the action's, refined by what the metadata
 * says for allocation transitions, so a force release reads (and is found) as
 * "Force release", not "Allocation status change".
 */
export function entryLabel(e: Pick<AuditLog, 'action' | 'metadata'>): string {
  // A server that names its actions (action_label) knows best.
  const named = (e as { action_label?: unknown }).action_label;
  if (typeof named === 'string' && named.trim()) return named;
  if (e.action === 'allocation.transition') {
    const m = (e.metadata ?? {}) as Record<string, unknown>;
    const reason = typeof m.reason === 'string' ? m.reason : '';
    const to = typeof m.status_to === 'string' ? m.status_to : '';
    if (reason.startsWith('admin')) return 'Force release';
    if (reason === 'balance_depleted') return 'Released: balance ran out';
    if (to === 'releasing' && reason === 'user') return 'Release by the user';
    if (to === 'active') return 'Allocation became active';
    if (to === 'failed') return 'Allocation failed';
    if (to === 'released') return 'Allocation released';
  }
  return actionLabel(e.action);
}

/** A free-text search over one entry: every word must appear in its name, action or description. */
export function matchesAudit(e: Pick<AuditLog, 'action' | 'metadata'>, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = `${entryLabel(e)} ${e.action} ${describeAudit(e)}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** What an action can be done to (audit_logs.target_type), for the target type filter. */
export const AUDIT_TARGET_TYPES: { value: string; label: string }[] = [
  { value: 'user', label: 'User' },
  { value: 'node', label: 'Node' },
  { value: 'allocation', label: 'Allocation' },
  { value: 'ssh_key', label: 'SSH key' },
  { value: 'signing_key', label: 'Signing key' },
  { value: 'storage_namespace', label: 'Storage namespace' },
];

const actionLabels = new Map(AUDIT_ACTIONS.map((a) => [a.value, a.label]));

export function actionLabel(action: string): string {
  return actionLabels.get(action) ?? action;
}

type Meta = Record<string, unknown>;

function str(v: unknown): string {
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function human(key: string): string {
  const s = key.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One line that says what happened, from the action and its metadata. */
export function describeAudit(e: Pick<AuditLog, 'action' | 'metadata'>): string {
  const m = (e.metadata ?? {}) as Meta;
  switch (e.action) {
    case 'billing.adjustment': {
      const amount = typeof m.amount_minor === 'number' ? m.amount_minor : Number(m.amount_minor);
      const money = Number.isFinite(amount) ? formatMoney(amount, str(m.currency) || 'USD', { signed: true }) : '';
      return `${amount < 0 ? 'Debit' : 'Credit'} ${money}${m.reason ? ` — ${str(m.reason)}` : ''}`;
    }
    case 'allocation.transition':
      return `${str(m.status_from) || '—'} → ${str(m.status_to) || '—'}${m.reason ? ` (${str(m.reason)})` : ''}`;
    case 'node.disable':
    case 'node.enable':
      return `Admin state ${str(m.admin_state_from) || '—'} → ${str(m.admin_state_to) || '—'}`;
    case 'node.create':
      return `${str(m.hostname)} in ${str(m.region)}`;
    case 'user.create':
      return `${str(m.username)} (${str(m.role)})`;
    case 'user.role_change':
      return `Role ${str(m.from) || '—'} → ${str(m.to) || '—'}`;
    case 'auth.login':
      return `Signed in as ${str(m.username)}`;
    case 'auth.login_failed':
      return `${str(m.username) || 'Unknown user'}: ${str(m.reason) || 'refused'}`;
    case 'node.join_token_issue':
      return `Valid until ${formatDateTime(str(m.expires_at))}`;
    case 'ssh_key.add':
    case 'ssh_key.delete':
      return `${str(m.name)} ${str(m.fingerprint)}`.trim();
    case 'storage.upload':
      return `${str(m.path)}${typeof m.size === 'number' ? ` (${formatBytes(m.size)})` : ''}${m.replaced ? ', replacing the old one' : ''}`;
    case 'storage.mkdir':
      return str(m.path);
    case 'storage.rename':
      return `${str(m.from)} → ${str(m.to)}`;
    case 'storage.delete':
      return `${str(m.path)}${m.recursive ? ' and everything in it' : ''}${typeof m.freed_bytes === 'number' ? ` (${formatBytes(m.freed_bytes)} freed)` : ''}`;
    case 'storage.quota_set':
      return typeof m.quota_bytes === 'number' ? `Quota ${formatBytes(m.quota_bytes)}` : 'Quota back to the default';
    default:
      return metadataPairs(m)
        .map(([k, v]) => `${k}: ${v}`)
        .join(' · ');
  }
}

/** The metadata as [label, value] pairs, for the details list. */
export function metadataPairs(m: Meta | null | undefined): [string, string][] {
  return Object.entries(m ?? {}).map(([k, v]) => [human(k), str(v)]);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A datetime-local value ("2026-01-02T15:04", the browser's zone) → RFC 3339 UTC; '' when empty or invalid. */
export function localInputToRFC3339(value: string): string {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 → a datetime-local value in the browser's zone; '' when empty or invalid. */
export function rfc3339ToLocalInput(value: string): string {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The server's catalogue of actions (GET /api/v1/admin/audit-actions: action,
 * label, category, category_label), for the action filter's suggestions; the
 * list above where an older server has none.
 */
export function useAuditActions(): { value: string; label: string }[] {
  const q = useApiQuery(['/api/v1/admin/audit-actions', null, null], async (signal) => {
    try {
      const body = await api.get('/api/v1/admin/audit-actions', { signal });
      return body.items.map((i) => ({ value: i.action, label: i.label }));
    } catch (err) {
      if (routeMissing(toApiError(err))) return null;
      throw err;
    }
  });
  return q.data && q.data.length > 0 ? q.data : AUDIT_ACTIONS;
}
