// Pure helpers for the allocation screens: search, the statuses a user can
// act on, and how each status is explained.
import type { Allocation, AllocationStatus } from '../../api/types';

// The contract's list, generated: no screen keeps its own copy.
export { ALLOCATION_STATUSES } from '../../api/enums.gen';

/** Local search over a loaded page: id, name, SKU and node id, case-insensitive, every word must match. */
export function matchesSearch(a: Pick<Allocation, 'id' | 'name' | 'sku_id' | 'node_id'>, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = [a.id, a.name, a.sku_id, a.node_id ?? ''].join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

export function showingText(shown: number, total: number, noun = 'allocations'): string {
  return `Showing ${shown} of ${total} ${total === 1 ? noun.replace(/s$/, '') : noun}`;
}

/** The user may release while the allocation holds or is about to hold GPUs. */
export function canRelease(status: AllocationStatus): boolean {
  return status === 'requested' || status === 'provisioning' || status === 'active';
}

/** Still moving: the detail page polls these more often. */
export function isTransient(status: AllocationStatus): boolean {
  return status === 'requested' || status === 'provisioning' || status === 'releasing';
}

/** Over: no more usage will be charged. */
export function isEnded(status: AllocationStatus): boolean {
  return status === 'released' || status === 'failed' || status === 'release_failed';
}

export function statusExplanation(status: AllocationStatus, container = false): string {
  switch (status) {
    case 'requested':
      return 'GPUs are reserved; the node is about to prepare them.';
    case 'provisioning':
      return container
        ? 'The node is pulling the image and starting the container. Billing starts once it runs.'
        : 'The node is preparing the GPUs and the login. This usually takes a few seconds.';
    case 'active':
      return container
        ? 'Running and billed by the second. Open its apps or read its logs below.'
        : 'Running and billed by the second. Connect with ssh or the terminal below.';
    case 'releasing':
      return 'The node is stopping the workload and freeing the GPUs. Billing has stopped.';
    case 'released':
      return 'The GPUs were given back. Billing stopped when it was released.';
    case 'failed':
      return 'The allocation ended without a normal release: it could not start, or its node stopped responding. You are billed only for the time it was seen running.';
    case 'release_failed':
      return 'Billing stopped when the release was requested. The node has not confirmed the stop yet; we keep trying, and an administrator has been alerted.';
  }
}

/** A readable release reason ("user", "admin: <why>", "maintenance: <why>", "balance_depleted"). */
export function describeReleaseReason(reason: string): string {
  if (!reason) return '';
  if (reason === 'user') return 'Released by you';
  if (reason === 'balance_depleted') return 'Released because the balance ran out';
  if (reason.startsWith('admin:')) return `Released by an administrator: ${reason.slice(6).trim()}`;
  if (reason === 'admin') return 'Released by an administrator';
  if (reason.startsWith('maintenance:')) return `Released for maintenance of its node: ${reason.slice(12).trim()}`;
  if (reason === 'maintenance') return 'Released for maintenance of its node';
  return reason;
}

/**
 * The drain of the allocation's node while the allocation still holds it
 * (node_drain_deadline, node_drain_reason): when it will be released, and
 * why. Null otherwise.
 */
export function nodeDrain(
  a: Pick<Allocation, 'status' | 'node_drain_deadline' | 'node_drain_reason'>,
): { deadline: string; reason: string } | null {
  if (!a.node_drain_deadline || isEnded(a.status)) return null;
  return { deadline: a.node_drain_deadline, reason: a.node_drain_reason?.trim() ?? '' };
}

/** The allocation's display name: its name, else "Allocation 1a2b3c4d". */
export function allocationTitle(a: Pick<Allocation, 'id' | 'name'>): string {
  return a.name?.trim() ? a.name : `Allocation ${a.id.slice(0, 8)}`;
}
