// The four states of any loaded screen, inside the page (the shell and the
// page header stay): loading, error, empty, and restricted (403).
//
//   const q = useGet('/api/v1/ssh-keys', {});
//   <StateView state={q} isEmpty={(d) => d.items.length === 0} empty={<Empty title="No keys yet" />}>
//     {(d) => <DataTable rows={d.items} … />}
//   </StateView>
import type { ReactNode } from 'react';
import type { ApiState } from '../api/query';
import { ErrorBox } from './ErrorBox';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Empty({ title, hint, action }: { title: string; hint?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <div className="state-icon" aria-hidden="true">
        ∅
      </div>
      <h2 className="state-title">{title}</h2>
      {hint && <p className="muted">{hint}</p>}
      {action && <div className="state-action">{action}</div>}
    </div>
  );
}

export function Restricted({ what = 'this page' }: { what?: string }) {
  return (
    <div className="state state-restricted" data-testid="restricted">
      <div className="state-icon" aria-hidden="true">
        🔒
      </div>
      <h2 className="state-title">You need the admin role</h2>
      <p className="muted">
        Your account can’t open {what}. Ask an administrator if you need access.
      </p>
    </div>
  );
}

export function StateView<T>({
  state,
  children,
  isEmpty,
  empty,
  loadingLabel,
}: {
  state: Pick<ApiState<T>, 'data' | 'error' | 'loading' | 'reload'>;
  children: (data: T) => ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  loadingLabel?: string;
}) {
  const { data, error, loading, reload } = state;
  if (error?.status === 403 && error.code === 'forbidden') return <Restricted />;
  if (data === undefined) {
    if (error) return <ErrorBox error={error} onRetry={() => void reload()} />;
    if (loading) return <Loading label={loadingLabel} />;
    return null;
  }
  // Data from an earlier load is kept on screen when a reload fails.
  return (
    <>
      {error && <ErrorBox error={error} onRetry={() => void reload()} compact />}
      {isEmpty?.(data) ? (empty ?? <Empty title="Nothing here yet" />) : children(data)}
    </>
  );
}
