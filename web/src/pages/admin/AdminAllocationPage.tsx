// One allocation of any user, for administrators (issue 11, item 6):
// GET /api/v1/admin/allocations/{id} answers the allocation with its owner.
// Its status, owner, node, GPUs, timeline and reasons, and force-release. An
// older server without the route is said plainly, with the way back to the list.
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../api/client';
import { routeMissing } from '../../api/errors';
import { useGet, useMutate } from '../../api/query';
import type { Allocation } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field } from '../../components/Field';
import { Money } from '../../components/Money';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { AllocationStatusPills } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import { canForceRelease } from '../../features/admin/filters';
import { useNodeLookup, useUserLookup } from '../../features/admin/lookups';
import { allocationTitle, describeReleaseReason } from '../../features/user/allocations';
import { formatDateTime, formatElapsed, shortId } from '../../lib/format';
import '../../features/admin/admin.css';

const REASON_MAX = 500;

/** The owner's name from the answer, else from the users list. */
export function ownerName(a: Allocation, lookup: (id: string) => string | undefined): string {
  return a.owner?.username ?? lookup(a.user_id) ?? shortId(a.user_id);
}

export function AdminAllocationPage() {
  const { id = '' } = useParams();
  const q = useGet('/api/v1/admin/allocations/{allocation_id}', { path: { allocation_id: id } }, { refetchInterval: 15_000 });
  const users = useUserLookup();
  const nodes = useNodeLookup();
  const toast = useToast();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const release = useMutate(
    (why: string) =>
      api.post('/api/v1/admin/allocations/{allocation_id}/force-release', {
        path: { allocation_id: id },
        body: { reason: why },
      }),
    { invalidates: ['/api/v1/admin', '/api/v1/allocations', '/api/v1/billing', '/api/v1/skus'] },
  );
  const a = q.data;
  const title = a ? allocationTitle(a) : `Allocation ${shortId(id)}`;
  const missingRoute = routeMissing(q.error) && !a;

  return (
    <Page
      title={title}
      subtitle={a ? <span className="mono muted">{a.id}</span> : undefined}
      breadcrumb={<Link to="/admin/allocations">All allocations</Link>}
      actions={
        a &&
        canForceRelease(a) && (
          <button
            type="button"
            className="button danger"
            onClick={() => {
              release.reset();
              setReason('');
              setConfirming(true);
            }}
          >
            Force release…
          </button>
        )
      }
    >
      {missingRoute ? (
        <Card title="Not available">
          <p>
            This server does not offer an allocation’s admin page yet. Find it in{' '}
            <Link to="/admin/allocations">all allocations</Link>.
          </p>
        </Card>
      ) : (
        <StateView state={q} loadingLabel="Loading the allocation…">
          {(a) => (
            <div className="detail-grid">
              <Card title="Allocation">
                <dl className="kv">
                  <div>
                    <dt>Status</dt>
                    <dd>
                      <AllocationStatusPills status={a.status} nodeStatus={a.node_status} nodeDraining={Boolean(a.node_drain_deadline)} />
                    </dd>
                  </div>
                  <div>
                    <dt>Owner</dt>
                    <dd>
                      <Link to={`/admin/users/${a.user_id}`}>{ownerName(a, (x) => users.name(x))}</Link>
                      {a.owner?.email && <span className="muted"> · {a.owner.email}</span>}
                    </dd>
                  </div>
                  <div>
                    <dt>SKU</dt>
                    <dd>
                      {a.sku_id} · {a.gpu_count} GPU{a.gpu_count === 1 ? '' : 's'}
                    </dd>
                  </div>
                  <div>
                    <dt>Price</dt>
                    <dd>
                      <Money minor={a.price_per_hour_minor} currency={a.currency} /> per hour
                    </dd>
                  </div>
                  <div>
                    <dt>Node</dt>
                    <dd>{a.node_id ? (nodes.name(a.node_id) ?? shortId(a.node_id)) : '—'}</dd>
                  </div>
                  <div>
                    <dt>GPUs</dt>
                    <dd>
                      {a.gpus.length > 0
                        ? a.gpus.map((g) => (
                            <code key={g.uuid} className="gpu-uuid">
                              #{g.index} {g.uuid}
                            </code>
                          ))
                        : '—'}
                    </dd>
                  </div>
                </dl>
              </Card>
              <Card title="Timeline">
                <dl className="kv">
                  <div>
                    <dt>Requested</dt>
                    <dd>{formatDateTime(a.created_at)}</dd>
                  </div>
                  <div>
                    <dt>Active</dt>
                    <dd>{formatDateTime(a.active_at)}</dd>
                  </div>
                  <div>
                    <dt>Released</dt>
                    <dd>
                      {formatDateTime(a.released_at)}
                      {a.active_at && a.released_at && <span className="muted"> · ran {formatElapsed(a.active_at, a.released_at)}</span>}
                    </dd>
                  </div>
                  {a.release_reason && (
                    <div>
                      <dt>Release</dt>
                      <dd>{describeReleaseReason(a.release_reason)}</dd>
                    </div>
                  )}
                  {a.failure_reason && (
                    <div>
                      <dt>Failure</dt>
                      <dd>{a.failure_reason}</dd>
                    </div>
                  )}
                  {a.last_error && (
                    <div>
                      <dt>Last error</dt>
                      <dd className="retry-note">
                        {a.last_error} ({a.attempts} {a.attempts === 1 ? 'attempt' : 'attempts'})
                      </dd>
                    </div>
                  )}
                </dl>
              </Card>
            </div>
          )}
        </StateView>
      )}
      <ConfirmDialog
        open={confirming}
        title={`Force-release ${title}?`}
        message="The user loses the machine now and its GPUs are freed; billing stops. The reason is shown to the user and kept in the audit log."
        confirmLabel="Force release"
        danger
        pending={release.pending}
        error={release.error}
        confirmDisabled={reason.trim() === '' || reason.length > REASON_MAX}
        onCancel={() => setConfirming(false)}
        onConfirm={async () => {
          const r = await release.run(reason.trim());
          if (r) {
            setConfirming(false);
            toast({ tone: 'success', title: 'Release requested', message: `${allocationTitle(r)} is ${r.status}.` });
          }
        }}
      >
        <Field label="Reason" hint={`Required. ${reason.length}/${REASON_MAX}`}>
          {(p) => <textarea {...p} rows={3} value={reason} maxLength={REASON_MAX} onChange={(e) => setReason(e.target.value)} />}
        </Field>
      </ConfirmDialog>
    </Page>
  );
}
