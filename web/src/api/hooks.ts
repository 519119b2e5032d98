// Small state helpers for screens. A screen loads with useApi, acts with
// useAction, and refreshes itself with usePolling:
//
//   const skus = useApi((signal) => api.get('/api/v1/skus', { signal }), []);
//   <StateView state={skus} empty={(d) => d.items.length === 0}>{(d) => <Table rows={d.items} />}</StateView>
//   usePolling(skus.reload, 10_000);
import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { toApiError, type ApiError } from './errors';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True on the first load and on reload() until it settles. */
  loading: boolean;
  /** When data last arrived (for "last updated" stamps). */
  updatedAt: Date | undefined;
  /** Loads again; keeps the current data visible meanwhile. Resolves when done. */
  reload: () => Promise<void>;
  /** Replaces the data locally (optimistic updates, websocket pushes). */
  setData: (update: T | ((prev: T | undefined) => T)) => void;
}

/**
 * Runs `load` on mount and whenever `deps` change; aborts the previous run.
 * An aborted run never touches state.
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): ApiState<T> {
  const [data, setDataState] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [updatedAt, setUpdatedAt] = useState<Date>();
  const loadRef = useRef(load);
  loadRef.current = load;
  const controller = useRef<AbortController | null>(null);

  const run = useCallback(async () => {
    controller.current?.abort();
    const ctl = new AbortController();
    controller.current = ctl;
    setLoading(true);
    try {
      const result = await loadRef.current(ctl.signal);
      if (ctl.signal.aborted) return;
      setDataState(result);
      setError(undefined);
      setUpdatedAt(new Date());
    } catch (err) {
      if (ctl.signal.aborted) return;
      setError(toApiError(err));
    } finally {
      if (!ctl.signal.aborted) setLoading(false);
    }
  }, deps);

  useEffect(() => {
    void run();
    return () => controller.current?.abort();
  }, [run]);

  const setData = useCallback((update: T | ((prev: T | undefined) => T)) => {
    setDataState((prev) => (typeof update === 'function' ? (update as (p: T | undefined) => T)(prev) : update));
  }, []);

  return { data, error, loading, updatedAt, reload: run, setData };
}

/**
 * Calls `fn` every `intervalMs` while `enabled`, skipping ticks while the tab
 * is hidden and catching up when it becomes visible again. It waits for one
 * call to finish before scheduling the next, so a slow server is never piled on.
 */
export function usePolling(fn: () => unknown, intervalMs: number, enabled = true): void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      if (document.visibilityState !== 'hidden') {
        try {
          await fnRef.current();
        } catch {
          // The screen shows its own error state; polling carries on.
        }
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    timer = setTimeout(tick, intervalMs);
    const onVisible = () => {
      if (document.visibilityState === 'visible') {
        clearTimeout(timer);
        void tick();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [intervalMs, enabled]);
}

export interface ActionState<A extends unknown[], R> {
  /** Runs the action; resolves with its result, or undefined when it failed (see error). */
  run: (...args: A) => Promise<R | undefined>;
  pending: boolean;
  error: ApiError | undefined;
  reset: () => void;
}

/** Wraps a mutation (create, release, delete …) with pending and error state. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>): ActionState<A, R> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError>();
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const run = useCallback(async (...args: A) => {
    setPending(true);
    setError(undefined);
    try {
      return await fnRef.current(...args);
    } catch (err) {
      setError(toApiError(err));
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  const reset = useCallback(() => setError(undefined), []);
  return { run, pending, error, reset };
}
