// A coloured pill for any status the API sends: allocation statuses, node
// status and admin state, GPU health. Unknown values render neutral.
export type Tone = 'success' | 'info' | 'warning' | 'danger' | 'neutral';

const tones: Record<string, Tone> = {
  // allocations
  requested: 'info',
  provisioning: 'info',
  active: 'success',
  releasing: 'warning',
  released: 'neutral',
  failed: 'danger',
  release_failed: 'danger',
  // nodes
  online: 'success',
  offline: 'danger',
  maintenance: 'warning',
  draining: 'warning',
  disabled: 'neutral',
  decommissioned: 'neutral',
  // GPUs
  healthy: 'success',
  unhealthy: 'danger',
  // payments
  pending: 'info',
  succeeded: 'success',
  expired: 'neutral',
  refunded: 'neutral',
  partially_refunded: 'warning',
  disputed: 'danger',
  failed_reconcile: 'danger',
  // roles
  admin: 'info',
  user: 'neutral',
};

// Statuses that are still moving get a pulsing dot.
const moving = new Set(['requested', 'provisioning', 'releasing']);

export function statusTone(status: string): Tone {
  return tones[status] ?? 'neutral';
}

export function StatusPill({ status, label, tone }: { status: string; label?: string; tone?: Tone }) {
  const t = tone ?? statusTone(status);
  return (
    <span className={`pill pill-${t}${moving.has(status) ? ' pill-moving' : ''}`} data-status={status}>
      <span className="pill-dot" aria-hidden="true" />
      {label ?? status.replace(/_/g, ' ')}
    </span>
  );
}

// An allocation's status, with a second pill when its node is offline
// (the status alone would say "active" for a workload nobody can reach),
// and one while its node drains for maintenance.
export function AllocationStatusPills({
  status,
  nodeStatus,
  nodeDraining = false,
}: {
  status: string;
  nodeStatus?: string | null;
  nodeDraining?: boolean;
}) {
  return (
    <>
      <StatusPill status={status} />
      {nodeStatus === 'offline' && (
        <>
          {' '}
          <StatusPill status="offline" label="node offline" />
        </>
      )}
      {nodeDraining && (
        <>
          {' '}
          <StatusPill status="draining" label="node maintenance" />
        </>
      )}
    </>
  );
}
