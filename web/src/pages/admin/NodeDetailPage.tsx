// One node for administrators: its status, agent and GPUs
// (GET /api/v1/admin/nodes/{id}), and the GPU telemetry of every GPU
// (GET /api/v1/admin/nodes/{id}/metrics), drawn live.
import { Link, useParams } from 'react-router';
import { useGet } from '../../api/query';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
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
                    <StatusPill status={n.status} /> {n.admin_state !== 'active' && <StatusPill status={n.admin_state} />}
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
            <NodeGpuCharts nodeId={n.id} />
          </>
        )}
      </StateView>
    </Page>
  );
}
