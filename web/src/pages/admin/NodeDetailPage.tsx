// One node for administrators: its status, agent and GPUs
// (GET /api/v1/admin/nodes/{id}), and the GPU telemetry of every GPU
// (GET /api/v1/admin/nodes/{id}/metrics), drawn live; its admin state (a
// drain's deadline and reason) and the maintenance actions: drain, undrain,
// decommission (features/admin/NodeLifecycle).
import { Link, useParams } from 'react-router';
import { useGet } from '../../api/query';
import type { Node } from '../../api/types';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { DrainState, NodeLifecycleActions } from '../../features/admin/NodeLifecycle';
import { NodeGpuCharts } from '../../features/telemetry/GpuCharts';
import { formatDateTime, formatRelative, shortId } from '../../lib/format';
import '../../features/admin/admin.css';

export function NodeDetailPage() {
  const { id = '' } = useParams();
  const q = useGet('/api/v1/admin/nodes/{node_id}', { path: { node_id: id } }, { refetchInterval: 15_000 });
  return (
    <Page title={q.data?.hostname ?? 'Node'} breadcrumb={<Link to="/admin/nodes">Nodes</Link>}>
      <StateView state={q} loadingLabel="Loading the node…">
        {(n) => (
          <>
            <Card title="Node">
              <dl className="kv">
                <div>
                  <dt>Status</dt>
                  <dd>
                    <StatusPill status={n.status} />
                  </dd>
                </div>
                <div>
                  <dt>Admin state</dt>
                  <dd data-testid="admin-state" data-state={n.admin_state}>
                    {n.admin_state === 'active' ? 'Active: takes new allocations' : <DrainStateLine node={n} />}
                  </dd>
                </div>
                <div>
                  <dt>Region</dt>
                  <dd>
                    {n.region} · {shortId(n.id)}
                  </dd>
                </div>
                <div>
                  <dt>Heartbeat</dt>
                  <dd>
                    {n.last_heartbeat_at ? (
                      <time dateTime={n.last_heartbeat_at} title={formatDateTime(n.last_heartbeat_at)}>
                        {formatRelative(n.last_heartbeat_at)}
                      </time>
                    ) : (
                      'None yet'
                    )}
                  </dd>
                </div>
                <div>
                  <dt>GPUs</dt>
                  <dd>
                    {n.gpus.length === 0
                      ? 'None reported'
                      : n.gpus.map((g) => `GPU ${g.index} ${g.health}${g.health_reason ? ` (${g.health_reason})` : ''}`).join(' · ')}
                  </dd>
                </div>
              </dl>
            </Card>
            {n.admin_state !== 'decommissioned' && (
              <Card title="Maintenance">
                <p className="muted maintenance-help">
                  Drain the node before maintenance: it takes no new allocations, and what still runs there is released
                  at the deadline you choose (its owners are told). Decommission retires an empty node for good.
                </p>
                <div className="row-actions row-actions-start" data-testid="node-lifecycle">
                  <NodeLifecycleActions node={n} onChanged={(fresh) => q.setData(fresh)} />
                </div>
              </Card>
            )}
            <NodeGpuCharts nodeId={n.id} />
          </>
        )}
      </StateView>
    </Page>
  );
}

function DrainStateLine({ node }: { node: Node }) {
  return (
    <span className="drain-line">
      <StatusPill status={node.admin_state} /> <DrainState node={node} />
    </span>
  );
}
