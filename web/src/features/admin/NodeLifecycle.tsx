// A node's maintenance controls (issue 14): drain it for maintenance (a
// reason and a deadline, after which what still runs there is released),
// undrain it, and decommission it for good. Shared by the nodes list and the
// node page:
//
//   POST /api/v1/admin/nodes/{id}/drain {reason, deadline}  400 details.field reason|deadline, 409 invalid_state
//   POST /api/v1/admin/nodes/{id}/undrain                   409 invalid_state unless draining
//   POST /api/v1/admin/nodes/{id}/decommission              409 node_in_use while GPUs are allocated
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { useQueryClient } from '@tanstack/react-query';
import { describeError, routeMissing, toApiError, type ApiError } from '../../api/errors';
import { invalidate, useMutate } from '../../api/query';
import type { Node } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ApiFieldError, ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { useToast } from '../../components/Toast';
import { formatDateTime, formatRelative } from '../../lib/format';
import {
  DRAIN_MAX_DAYS,
  DRAIN_REASON_MAX,
  QUICK_DEADLINES,
  deadlineFromLocal,
  deadlineProblem,
  drainFieldOf,
  drainOf,
  fromLocalInput,
  nodeLifecycle,
  quickDeadline,
  toLocalInput,
  utcOffsetLabel,
} from './drain';

const STALE = ['/api/v1/admin', '/api/v1/skus'];

/** Beside a draining pill: "Deadline Dec 8, 2026, 10:00:00 AM (in 3 hr)", then "Reason: …"; "Retired for good" when decommissioned. */
export function DrainState({ node, compact = false }: { node: Node; compact?: boolean }) {
  const drain = drainOf(node);
  if (node.admin_state === 'decommissioned') {
    return <span className="muted small-print">Retired for good</span>;
  }
  if (!drain) return null;
  return (
    <span className={`drain-state${compact ? ' small-print' : ''}`} data-testid="drain-state">
      <span>
        Deadline{' '}
        <time dateTime={drain.deadline} title={formatDateTime(drain.deadline)}>
          {formatDateTime(drain.deadline)}
        </time>{' '}
        <span className="muted">({formatRelative(drain.deadline)})</span>
      </span>
      {drain.reason && <span className="muted drain-reason">Reason: {drain.reason}</span>}
    </span>
  );
}

function ActionError({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  if (routeMissing(error)) {
    return (
      <p className="field-error" role="alert">
        This server does not offer this action yet.
      </p>
    );
  }
  return <ErrorBox error={error} compact />;
}

/** The drain dialog: a reason, and a deadline picked in local time (sent in UTC). */
export function DrainDialog({
  node,
  onClose,
  onDone,
  now: nowProp,
}: {
  node: Node | null;
  onClose: () => void;
  onDone?: (n: Node) => void;
  /** The clock, for tests. */
  now?: () => Date;
}) {
  const now = nowProp ?? (() => new Date());
  const toast = useToast();
  const [reason, setReason] = useState('');
  const [deadline, setDeadline] = useState('');
  const [tried, setTried] = useState(false);
  const drain = useMutate(
    (id: string, body: { reason: string; deadline: string }) =>
      api.post('/api/v1/admin/nodes/{node_id}/drain', { path: { node_id: id }, body }),
    { invalidates: STALE },
  );
  const resetDrain = drain.reset;
  const nodeId = node?.id;
  useEffect(() => {
    if (!node) return;
    const current = drainOf(node);
    setReason(current?.reason ?? '');
    setDeadline(current ? toLocalInput(new Date(current.deadline)) : '');
    setTried(false);
    resetDrain();
    // Only when another node's dialog opens: the node refreshes in the background.
  }, [nodeId]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!node) return null;
  const moving = node.admin_state === 'draining';
  const serverField = drainFieldOf(drain.error);
  const reasonProblem = tried && reason.trim() === '' ? 'Say why, for the owners: it is shown to them.' : null;
  const localProblem = tried ? deadlineProblem(deadline, now()) : null;
  const picked = fromLocalInput(deadline);
  const utc = deadlineFromLocal(deadline);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (reason.trim() === '' || deadlineProblem(deadline, now()) || !utc) return;
    const fresh = await drain.run(node.id, { reason: reason.trim(), deadline: utc });
    if (fresh) {
      toast({
        tone: 'success',
        title: `${fresh.hostname} is draining`,
        message: `No new allocations land on it. What still runs there is released at ${formatDateTime(fresh.drain_deadline ?? utc)}.`,
      });
      onDone?.(fresh);
      onClose();
    }
  };

  return (
    <Modal
      open
      title={moving ? `Change drain of ${node.hostname}` : `Drain ${node.hostname}`}
      description={
        <>
          No new allocations land on it from now on, and the owners of what runs there are told when it ends. At the
          deadline, what still runs is released and its charge stops at the deadline.
        </>
      }
      onClose={onClose}
      dismissable={!drain.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={drain.pending}>
            Cancel
          </button>
          <button type="submit" form="drain-node-form" className="button danger" disabled={drain.pending}>
            {drain.pending ? 'Draining…' : moving ? 'Save drain' : 'Drain node'}
          </button>
        </>
      }
    >
      <form id="drain-node-form" onSubmit={submit} noValidate>
        <Field
          label="Reason"
          hint="Shown to the owners of its allocations and kept as the release reason (maintenance: …)."
          error={
            reasonProblem ??
            (serverField === 'reason' && drain.error ? <ApiFieldError error={drain.error} /> : undefined)
          }
        >
          {(p) => (
            <textarea
              {...p}
              rows={2}
              value={reason}
              maxLength={DRAIN_REASON_MAX}
              onChange={(e) => setReason(e.target.value)}
              required
            />
          )}
        </Field>
        <Field
          label="Deadline"
          hint={
            picked && utc ? (
              <>
                Your local time ({utcOffsetLabel(picked)}); sent as <span data-testid="drain-utc">{utc}</span>. At most{' '}
                {DRAIN_MAX_DAYS} days ahead.
              </>
            ) : (
              `Your local time. At most ${DRAIN_MAX_DAYS} days ahead.`
            )
          }
          error={
            localProblem ??
            (serverField === 'deadline' && drain.error ? <ApiFieldError error={drain.error} /> : undefined)
          }
        >
          {(p) => (
            <input
              {...p}
              type="datetime-local"
              value={deadline}
              min={toLocalInput(now())}
              onChange={(e) => setDeadline(e.target.value)}
              required
            />
          )}
        </Field>
        <div className="quick-choices" role="group" aria-label="Quick deadlines">
          {QUICK_DEADLINES.map((q) => (
            <button
              key={q.hours}
              type="button"
              className="button small"
              onClick={() => setDeadline(quickDeadline(q.hours, now()))}
            >
              {q.label}
            </button>
          ))}
        </div>
      </form>
      {drain.error && !serverField && <ActionError error={drain.error} />}
    </Modal>
  );
}

/** What a decommission refusal means, in words. */
export function decommissionError(err: ApiError): string {
  if (err.code === 'node_in_use') {
    return 'Its GPUs are still allocated, so it cannot be retired yet. Drain it first: at the drain’s deadline what still runs there is released, and then it can be decommissioned.';
  }
  return describeError(err);
}

/**
 * The Drain / Undrain / Decommission buttons for one node, with their dialogs.
 * `small` for a table row. Renders nothing for a decommissioned node.
 */
export function NodeLifecycleActions({
  node,
  onChanged,
  small = false,
  withDecommission = true,
  withChange = true,
}: {
  node: Node;
  onChanged?: (n: Node) => void;
  small?: boolean;
  /** False in a table row: decommission, for good, is on the node's own page. */
  withDecommission?: boolean;
  /** False in a table row: a draining node offers Undrain only; moving the deadline is on its page. */
  withChange?: boolean;
}) {
  const toast = useToast();
  const [dialog, setDialog] = useState<'drain' | 'decommission' | null>(null);
  const path = { node_id: node.id };
  const qc = useQueryClient();
  const decommission = useMutate(() => api.post('/api/v1/admin/nodes/{node_id}/decommission', { path }), {
    invalidates: STALE,
  });
  const can = nodeLifecycle(node);
  if (!withDecommission) can.decommission = false;
  if (!withChange && can.undrain) can.drain = false;
  const size = small ? ' small' : '';

  const [undraining, setUndraining] = useState(false);
  const runUndrain = async () => {
    setUndraining(true);
    try {
      const fresh = await api.post('/api/v1/admin/nodes/{node_id}/undrain', { path });
      onChanged?.(fresh);
      toast({ tone: 'success', title: `${node.hostname} is back in service`, message: 'It takes new allocations again.' });
    } catch (err) {
      const e = toApiError(err);
      toast({
        tone: 'danger',
        title: `Could not undrain ${node.hostname}`,
        message: `${describeError(e)}${e.correlationId ? ` Reference ${e.correlationId}.` : ''}`,
        duration: 0,
      });
    } finally {
      setUndraining(false);
      void invalidate(qc, ...STALE);
    }
  };

  if (!can.drain && !can.undrain && !can.decommission) return null;
  return (
    <>
      {can.undrain && (
        <button
          type="button"
          className={`button${size}`}
          onClick={() => void runUndrain()}
          disabled={undraining}
          aria-label={`Undrain ${node.hostname}`}
        >
          {undraining ? 'Undraining…' : 'Undrain'}
        </button>
      )}
      {can.drain && (
        <button
          type="button"
          className={`button${size}${node.admin_state === 'draining' ? ' ghost' : ''}`}
          onClick={() => setDialog('drain')}
          aria-label={node.admin_state === 'draining' ? `Change drain of ${node.hostname}` : `Drain ${node.hostname}`}
        >
          {node.admin_state === 'draining' ? 'Change drain…' : 'Drain…'}
        </button>
      )}
      {can.decommission && (
        <button
          type="button"
          className={`button${size} danger`}
          onClick={() => {
            decommission.reset();
            setDialog('decommission');
          }}
          aria-label={`Decommission ${node.hostname}`}
        >
          Decommission…
        </button>
      )}
      <DrainDialog node={dialog === 'drain' ? node : null} onClose={() => setDialog(null)} onDone={onChanged} />
      <ConfirmDialog
        open={dialog === 'decommission'}
        title={`Decommission ${node.hostname}?`}
        message="This is for good: the node is retired, its agent’s credentials are revoked and it never takes work again (it cannot be enabled or undrained afterwards). Its record and history stay. Only an empty node can be decommissioned."
        confirmLabel="Decommission for good"
        danger
        pending={decommission.pending}
        onCancel={() => setDialog(null)}
        onConfirm={async () => {
          const fresh = await decommission.run();
          if (fresh) {
            onChanged?.(fresh);
            setDialog(null);
            toast({ tone: 'success', title: `${fresh.hostname} is decommissioned`, message: 'It never takes work again.' });
          }
        }}
      >
        {decommission.error &&
          (decommission.error.code === 'node_in_use' ? (
            <p className="field-error" role="alert" data-testid="decommission-in-use">
              {decommissionError(decommission.error)}
            </p>
          ) : (
            <ActionError error={decommission.error} />
          ))}
      </ConfirmDialog>
    </>
  );
}
