// GPU hosts. The search (a substring of the hostname), status and admin-state
// filters live in the URL and go to the API, which filters before it pages. A
// node is
// registered here, then its agent joins with a one-time token shown once.
// Disable is refused by the API while GPUs are allocated, so the button is
// off (with the reason next to it) for a node in use. Drain and undrain are
// here too (a draining node shows its deadline); moving a drain's deadline
// and decommission, for good, are on the node's page.
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { describeError, toApiError } from '../../api/errors';
import { useGet, useMutate } from '../../api/query';
import type { JoinToken, Node, NodeAdminState, NodeStatus } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { DataTable, type Column } from '../../components/DataTable';
import { FilterBar, SearchFilter, SelectFilter } from '../../components/Filters';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, StateView } from '../../components/StateView';
import { StatusPill } from '../../components/StatusPill';
import { useToast } from '../../components/Toast';
import { DrainState, NodeLifecycleActions } from '../../features/admin/NodeLifecycle';
import {
  SEARCH_MAX,
  filterKey,
  gpuSummary,
  listCount,
  nodeInUse,
  searchParam,
  useSearchBox,
  useUrlFilters,
} from '../../features/admin/filters';
import { formatDateTime, formatRelative, shortId } from '../../lib/format';
import '../../features/admin/admin.css';

const FILTERS = ['q', 'status', 'state'] as const;

/** "NVIDIA H100 80GB HBM3" → "H100 80GB HBM3": the vendor is the same on every row. */
export function shortModel(model: string): string {
  return model.replace(/^NVIDIA\s+/i, '');
}

/** The command an operator runs on the new host. */
export function agentCommand(server: string, token: string): string {
  return `gpuaas agent --server ${server} --join-token ${token}`;
}

export function NodesPage() {
  const [f, setF] = useUrlFilters(FILTERS);
  const [search, setSearch] = useSearchBox(f.q, (text) => setF({ q: text }));
  const pager = useCursorPager();
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [tokenFor, setTokenFor] = useState<Node | null>(null);
  const [disabling, setDisabling] = useState<Node | null>(null);
  const [probing, setProbing] = useState<string | null>(null);

  const key = filterKey({ q: searchParam(f.q) ?? '', status: f.status, state: f.state });
  const q = useGet(
    '/api/v1/admin/nodes',
    {
      query: {
        cursor: pager.cursor,
        q: searchParam(f.q),
        status: (f.status || undefined) as NodeStatus | undefined,
        admin_state: (f.state || undefined) as NodeAdminState | undefined,
      },
    },
    { refetchInterval: 15_000 },
  );
  const { reset } = pager;
  useEffect(() => reset(), [key, reset]);
  const filtered = Boolean(searchParam(f.q) || f.status || f.state);
  const clear = () => {
    setSearch('');
    setF({ q: '', status: '', state: '' });
  };

  const replace = (n: Node) =>
    q.setData((prev) => (prev ? { ...prev, items: prev.items.map((x) => (x.id === n.id ? n : x)) } : prev!));

  const disable = useMutate((id: string) => api.delete('/api/v1/admin/nodes/{node_id}', { path: { node_id: id } }), {
    invalidates: ['/api/v1/admin', '/api/v1/skus'],
  });
  const [enabling, setEnabling] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<Node | null>(null);
  const revoke = useMutate(
    (id: string) => api.post('/api/v1/admin/nodes/{node_id}/revoke-credentials', { path: { node_id: id } }),
    { invalidates: ['/api/v1/admin'] },
  );

  const failed = (title: string, err: unknown) => {
    const e = toApiError(err);
    toast({
      tone: 'danger',
      title,
      message: `${describeError(e)}${e.correlationId ? ` Correlation id ${e.correlationId}.` : ''}`,
      duration: 0,
    });
  };

  const runProbe = async (n: Node) => {
    setProbing(n.id);
    try {
      const fresh = await api.post('/api/v1/admin/nodes/{node_id}/probe', { path: { node_id: n.id } });
      replace(fresh);
      const s = gpuSummary(fresh);
      if (fresh.status === 'online') {
        toast({
          tone: s.unhealthy > 0 ? 'warning' : 'success',
          title: `${fresh.hostname} answered`,
          message: `Online · ${s.healthy} of ${s.total} GPUs healthy · agent ${fresh.agent_version || 'unknown'}`,
        });
      } else {
        toast({
          tone: 'warning',
          title: `${fresh.hostname} did not answer`,
          message: 'No agent replied within 5 s; it is marked offline.',
        });
      }
    } catch (err) {
      failed(`Probe of ${n.hostname} failed`, err);
    } finally {
      setProbing(null);
    }
  };

  const runEnable = async (n: Node) => {
    setEnabling(n.id);
    try {
      const fresh = await api.post('/api/v1/admin/nodes/{node_id}/enable', { path: { node_id: n.id } });
      replace(fresh);
      toast({ tone: 'success', title: `${n.hostname} enabled`, message: 'It takes new allocations again.' });
    } catch (err) {
      failed(`Could not enable ${n.hostname}`, err);
    } finally {
      setEnabling(null);
    }
  };

  const columns: Column<Node>[] = [
    {
      key: 'host',
      header: 'Node',
      render: (n) => (
        <div className="cell-stack node-name">
          <strong title={n.hostname}>
            <Link to={`/admin/nodes/${n.id}`} onClick={(e) => e.stopPropagation()}>
              {n.hostname}
            </Link>
          </strong>
          <span className="muted">
            {n.region} · {shortId(n.id)}
          </span>
          {n.agent_version ? (
            <span className="muted">
              Agent <code>{n.agent_version}</code>
              {n.agent_version_drift && <span className="warning-text"> · differs from the server</span>}
            </span>
          ) : (
            <span className="muted">Agent not joined yet</span>
          )}
        </div>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (n) => (
        <div className="cell-stack">
          <div className="pill-stack">
            <StatusPill status={n.status} />
            {n.admin_state !== 'active' && <StatusPill status={n.admin_state} />}
          </div>
          <DrainState node={n} compact />
          <span className="muted small-print cell-nowrap">
            {n.last_heartbeat_at ? (
              <>
                Heartbeat{' '}
                <time dateTime={n.last_heartbeat_at} title={formatDateTime(n.last_heartbeat_at)}>
                  {formatRelative(n.last_heartbeat_at)}
                </time>
              </>
            ) : (
              'No heartbeat yet'
            )}
          </span>
        </div>
      ),
    },
    {
      key: 'gpus',
      header: 'GPUs',
      render: (n) => {
        const s = gpuSummary(n);
        if (s.total === 0) return <span className="muted">None reported</span>;
        return (
          <div className="cell-stack">
            <span className="cell-nowrap" title={s.model}>
              {s.total} × {shortModel(s.model)}
            </span>
            <span className="muted">
              {s.allocated} allocated · {s.total - s.allocated} free
            </span>
          </div>
        );
      },
    },
    {
      key: 'health',
      header: 'GPU health',
      render: (n) => {
        const s = gpuSummary(n);
        if (s.total === 0) return <span className="muted">—</span>;
        const bad = n.gpus.filter((g) => g.health !== 'healthy');
        return bad.length === 0 ? (
          <StatusPill status="healthy" label={`${s.healthy}/${s.total} healthy`} />
        ) : (
          <div className="cell-stack">
            <StatusPill status="unhealthy" label={`${bad.length} unhealthy`} />
            <span className="muted small-print">
              {bad.map((g) => `GPU ${g.index}${g.health_reason ? `: ${g.health_reason}` : ''}`).join('; ')}
            </span>
          </div>
        );
      },
    },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      align: 'right',
      render: (n) => {
        const inUse = nodeInUse(n);
        const noteId = `in-use-${n.id}`;
        if (n.admin_state === 'decommissioned') {
          return (
            <div className="row-actions">
              <span className="muted small-print">Decommissioned</span>
            </div>
          );
        }
        return (
          <div className="row-actions row-actions-wrap">
            <NodeLifecycleActions node={n} onChanged={replace} small withDecommission={false} withChange={false} />
            <button
              type="button"
              className="button small"
              onClick={() => void runProbe(n)}
              disabled={probing === n.id}
              aria-label={`Probe ${n.hostname}`}
            >
              {probing === n.id ? 'Probing…' : 'Probe'}
            </button>
            <button
              type="button"
              className="button small ghost"
              onClick={() => setTokenFor(n)}
              aria-label={`Issue a join token for ${n.hostname}`}
            >
              Join token
            </button>
            <button
              type="button"
              className="button small ghost"
              onClick={() => {
                revoke.reset();
                setRevoking(n);
              }}
              aria-label={`Revoke the credentials of ${n.hostname}`}
            >
              Revoke
            </button>
            {n.admin_state === 'disabled' ? (
              <button
                type="button"
                className="button small"
                onClick={() => void runEnable(n)}
                disabled={enabling === n.id}
                aria-label={`Enable ${n.hostname}`}
              >
                Enable
              </button>
            ) : (
              <span className="action-with-note">
                <button
                  type="button"
                  className="button small danger"
                  onClick={() => {
                    disable.reset();
                    setDisabling(n);
                  }}
                  disabled={inUse}
                  aria-label={`Disable ${n.hostname}`}
                  aria-describedby={inUse ? noteId : undefined}
                  title={inUse ? 'Release its allocations first: a node with allocated GPUs cannot be disabled.' : undefined}
                >
                  Disable
                </button>
                {inUse && (
                  <span id={noteId} className="action-note">
                    In use
                  </span>
                )}
              </span>
            )}
          </div>
        );
      },
    },
  ];

  return (
    <Page
      title="Nodes"
      subtitle="GPU hosts, their health and their agents."
      actions={
        <button type="button" className="button primary" onClick={() => setCreating(true)}>
          Add node
        </button>
      }
    >
      <FilterBar label="Filter nodes">
        <SearchFilter id="nodes-q" placeholder="Hostname" maxLength={SEARCH_MAX} value={search} onChange={setSearch} />
        <SelectFilter id="nodes-status" label="Status" value={f.status} onChange={(v) => setF({ status: v })}>
          <option value="">Any status</option>
          <option value="online">Online</option>
          <option value="offline">Offline</option>
        </SelectFilter>
        <SelectFilter id="nodes-state" label="Admin state" value={f.state} onChange={(v) => setF({ state: v })}>
          <option value="">Any state</option>
          <option value="active">Active</option>
          <option value="maintenance">Maintenance</option>
          <option value="draining">Draining</option>
          <option value="disabled">Disabled</option>
          <option value="decommissioned">Decommissioned</option>
        </SelectFilter>
      </FilterBar>
      <StateView
        state={q}
        isEmpty={(d) => d.items.length === 0 && !filtered}
        empty={
          <Empty
            title="No nodes yet"
            hint="Register a GPU host, then run its agent with the join token."
            action={
              <button type="button" className="button primary" onClick={() => setCreating(true)}>
                Add node
              </button>
            }
          />
        }
      >
        {(d) => {
          const rows = d.items;
          return (
            <div className="list-block">
              <p className="list-count" aria-live="polite">
                {listCount(rows.length, 'node', filtered, Boolean(d.next_cursor) || pager.canBack)}
              </p>
              {rows.length === 0 ? (
                <Empty
                  title="No node matches"
                  hint="Nothing matches these filters."
                  action={
                    <button type="button" className="button" onClick={clear}>
                      Clear filters
                    </button>
                  }
                />
              ) : (
                <DataTable caption="Nodes" columns={columns} rows={rows} rowKey={(n) => n.id} />
              )}
              <Pagination pager={pager} nextCursor={d.next_cursor || undefined} disabled={q.loading} />
            </div>
          );
        }}
      </StateView>

      <CreateNodeDialog
        open={creating}
        regions={[...new Set((q.data?.items ?? []).map((n) => n.region))]}
        onClose={() => setCreating(false)}
        onCreated={() => void q.reload()}
      />
      <JoinTokenDialog node={tokenFor} onClose={() => setTokenFor(null)} />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the credentials of ${revoking?.hostname ?? 'node'}?`}
        message="Its agent is disconnected and cannot reconnect until it joins again with a new join token. Running allocations stay; the node goes offline until it rejoins."
        confirmLabel="Revoke credentials"
        danger
        pending={revoke.pending}
        error={revoke.error}
        onCancel={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          const r = await revoke.run(revoking.id);
          if (r) {
            toast({
              tone: 'success',
              title: `${revoking.hostname}: credentials revoked`,
              message: `${r.revoked} credential${r.revoked === 1 ? '' : 's'} revoked. Issue a join token to let it back in.`,
            });
            setRevoking(null);
          }
        }}
      />
      <ConfirmDialog
        open={disabling !== null}
        title={`Disable ${disabling?.hostname ?? 'node'}?`}
        message="A disabled node takes no new allocations. Its agent stays connected; you can enable it again at any time."
        confirmLabel="Disable node"
        danger
        pending={disable.pending}
        error={disable.error}
        onCancel={() => setDisabling(null)}
        onConfirm={async () => {
          if (!disabling) return;
          const fresh = await disable.run(disabling.id);
          if (fresh) {
            replace(fresh);
            setDisabling(null);
            toast({ tone: 'success', title: `${fresh.hostname} disabled`, message: 'It takes no new allocations.' });
          }
        }}
      />
    </Page>
  );
}

function CreateNodeDialog({
  open,
  regions,
  onClose,
  onCreated,
}: {
  open: boolean;
  regions: string[];
  onClose: () => void;
  onCreated: () => void;
}) {
  const [hostname, setHostname] = useState('');
  const [region, setRegion] = useState('');
  const [node, setNode] = useState<Node | null>(null);
  const [token, setToken] = useState<JoinToken | null>(null);
  const create = useMutate(async () => {
    const n = await api.post('/api/v1/admin/nodes', { body: { hostname: hostname.trim(), region: region.trim() } });
    setNode(n);
    onCreated();
    return n;
  }, { invalidates: ['/api/v1/admin'] });
  const issue = useMutate((id: string) => api.post('/api/v1/admin/nodes/{node_id}/join-token', { path: { node_id: id } }));
  const resetCreate = create.reset;
  const resetIssue = issue.reset;
  const defaultRegion = regions[0] ?? '';

  useEffect(() => {
    if (!open) return;
    setHostname('');
    setRegion(defaultRegion);
    setNode(null);
    setToken(null);
    resetCreate();
    resetIssue();
    // Only on open: the region list refreshes in the background.
  }, [open]); // eslint-disable-line react-hooks/exhaustive-deps

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = node ?? (await create.run());
    if (!n) return;
    const t = await issue.run(n.id);
    if (t) setToken(t);
  };

  const pending = create.pending || issue.pending;
  if (token && node) {
    return <JoinTokenView open={open} node={node} token={token} onClose={onClose} title="Node registered" />;
  }
  const hostError = create.error && /hostname/i.test(`${create.error.code} ${create.error.message}`) ? create.error : undefined;
  return (
    <Modal
      open={open}
      title="Add a node"
      description="Register the host, then run its agent with the one-time join token shown next."
      onClose={onClose}
      dismissable={!pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={pending}>
            Cancel
          </button>
          <button type="submit" form="create-node-form" className="button primary" disabled={pending}>
            {pending ? 'Registering…' : node ? 'Issue join token' : 'Register node'}
          </button>
        </>
      }
    >
      <form id="create-node-form" onSubmit={submit} noValidate>
        <Field
          label="Hostname"
          hint="A DNS name in lower case, e.g. gpu-07.dc1.example.com"
          error={hostError ? hostError.message : undefined}
        >
          {(p) => (
            <input
              {...p}
              value={hostname}
              onChange={(e) => setHostname(e.target.value)}
              autoComplete="off"
              disabled={node !== null}
              required
            />
          )}
        </Field>
        <Field label="Region" hint={regions.length ? `Regions in use: ${regions.join(', ')}` : undefined}>
          {(p) => (
            <input
              {...p}
              value={region}
              onChange={(e) => setRegion(e.target.value)}
              list="node-regions"
              disabled={node !== null}
              required
            />
          )}
        </Field>
        <datalist id="node-regions">
          {regions.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
      </form>
      {create.error && <ErrorBox error={create.error} compact />}
      {node && issue.error && <ErrorBox error={issue.error} title="The node is registered, but no join token was issued" compact />}
    </Modal>
  );
}

function JoinTokenDialog({ node, onClose }: { node: Node | null; onClose: () => void }) {
  const [token, setToken] = useState<JoinToken | null>(null);
  const issue = useMutate((id: string) => api.post('/api/v1/admin/nodes/{node_id}/join-token', { path: { node_id: id } }));
  const resetIssue = issue.reset;
  useEffect(() => {
    setToken(null);
    resetIssue();
  }, [node, resetIssue]);
  if (!node) return null;
  if (token) return <JoinTokenView open node={node} token={token} onClose={onClose} title="Join token issued" />;
  return (
    <Modal
      open
      title={`Join token for ${node.hostname}`}
      onClose={onClose}
      size="small"
      dismissable={!issue.pending}
      description="A join token lets an agent on this host trade it, once and within an hour, for the node's own credential. Issue one to (re)install the agent."
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={issue.pending}>
            Cancel
          </button>
          <button
            type="button"
            className="button primary"
            disabled={issue.pending}
            onClick={async () => {
              const t = await issue.run(node.id);
              if (t) setToken(t);
            }}
          >
            {issue.pending ? 'Issuing…' : 'Issue token'}
          </button>
        </>
      }
    >
      {issue.error && <ErrorBox error={issue.error} compact />}
    </Modal>
  );
}

function JoinTokenView({
  open,
  node,
  token,
  title,
  onClose,
}: {
  open: boolean;
  node: Node;
  token: JoinToken;
  title: string;
  onClose: () => void;
}) {
  const command = agentCommand(window.location.origin, token.token);
  return (
    <Modal
      open={open}
      title={title}
      onClose={onClose}
      footer={
        <button type="button" className="button primary" onClick={onClose}>
          Done
        </button>
      }
    >
      <div className="notice notice-warning" role="note">
        <strong>Copy it now: this token is shown once.</strong> It works one time, until{' '}
        {formatDateTime(token.expires_at)}.
      </div>
      <div className="secret-block">
        <div className="secret-label">Join token for {node.hostname}</div>
        <div className="secret-row">
          <code data-testid="join-token">{token.token}</code>
          <CopyButton text={token.token} label="Copy join token" small />
        </div>
      </div>
      <div className="secret-block">
        <div className="secret-label">On the host, run</div>
        <div className="secret-row">
          <code data-testid="join-command">{command}</code>
          <CopyButton text={command} label="Copy agent command" small />
        </div>
      </div>
    </Modal>
  );
}
