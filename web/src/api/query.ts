// The console's server state: one TanStack Query cache for every screen.
//
//   const skus = useGet('/api/v1/skus', { query: { page_size: 200 } });            // ApiState<SKUList>
//   const a = useGet('/api/v1/allocations/{allocation_id}', { path: { allocation_id: id } }, { refetchInterval: 10_000 });
//   const release = useMutate(() => api.post(…), { invalidates: ['/api/v1/allocations', '/api/v1/billing'] });
//
// A query's key is [path template, path parameters, query], so two screens
// asking for the same thing share one request and one cached answer, and
// invalidation works by path prefix (invalidate(qc, '/api/v1/allocations')
// marks the list and every allocation stale). Data is refetched when the window
// regains focus and when the browser comes back online, and after every
// mutation (success or failure: a "sold out" answer means the list on screen
// is stale too) and after every notification (app/notifications.tsx).
import {
  QueryClient,
  onlineManager,
  useMutation,
  useQuery,
  useQueryClient,
  type Query,
  type QueryKey,
} from '@tanstack/react-query';
import { useCallback, useMemo, useSyncExternalStore } from 'react';
import { api, type PathsFor, type RequestOptions, type ResultOf, type Op } from './client';
import { toApiError, type ApiError } from './errors';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True on the first load and while a refetch runs. */
  loading: boolean;
  /** When data last arrived (for "last updated" stamps). */
  updatedAt: Date | undefined;
  /** Loads again; keeps the current data visible meanwhile. Resolves when done. */
  reload: () => Promise<void>;
  /** Replaces the cached data (optimistic updates, websocket pushes); every screen sharing it sees the change. */
  setData: (update: T | ((prev: T | undefined) => T)) => void;
}

/** Errors worth one more try: the network, or a server that is briefly away. */
function retryable(err: unknown): boolean {
  const e = toApiError(err);
  // A 503 storage_disabled is the server's configuration, not a blip.
  return e.status === 0 ? e.code === 'network_error' : e.status >= 502 && e.status <= 504 && e.code !== 'storage_disabled' && e.code !== 'payments_disabled';
}

export function createQueryClient(opts: { retries?: number } = {}): QueryClient {
  const retries = opts.retries ?? 2;
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        gcTime: 5 * 60_000,
        refetchOnWindowFocus: true,
        refetchOnReconnect: true,
        retry: (n, err) => n < retries && retryable(err),
        retryDelay: (n) => Math.min(8_000, 1_000 * 2 ** n),
      },
      mutations: { retry: false },
    },
  });
}

export interface QueryOpts<T = unknown> {
  /** Refetch every ms while the tab is visible (false or undefined: never); a function decides from the data. */
  refetchInterval?: number | false | ((data: T | undefined) => number | false);
  enabled?: boolean;
}

/** A query over any load function, with an explicit key. */
export function useApiQuery<T>(key: QueryKey, load: (signal: AbortSignal) => Promise<T>, opts: QueryOpts<T> = {}): ApiState<T> {
  const qc = useQueryClient();
  const q = useQuery<T, ApiError>({
    queryKey: key,
    queryFn: async ({ signal }) => {
      try {
        return await load(signal);
      } catch (err) {
        throw toApiError(err);
      }
    },
    refetchInterval: (query) => {
      const r = opts.refetchInterval;
      return typeof r === 'function' ? r(query.state.data) : (r ?? false);
    },
    enabled: opts.enabled ?? true,
    // While another page or filter of the same list loads, the one on screen
    // stays (as before); another resource (a different id) never shows the last one's data.
    placeholderData: (prev, prevQuery) =>
      prevQuery && prevQuery.queryKey[0] === key[0] && JSON.stringify(prevQuery.queryKey[1]) === JSON.stringify(key[1])
        ? prev
        : undefined,
  });
  const { refetch } = q;
  const keyHash = JSON.stringify(key);
  const reload = useCallback(async () => {
    await refetch();
  }, [refetch]);
  const setData = useCallback(
    (update: T | ((prev: T | undefined) => T)) => {
      qc.setQueryData<T>(key, (prev) => (typeof update === 'function' ? (update as (p: T | undefined) => T)(prev) : update));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [qc, keyHash],
  );
  return useMemo(
    () => ({
      data: q.data,
      error: q.error ?? undefined,
      loading: q.isPending ? q.fetchStatus !== 'idle' : q.isFetching,
      updatedAt: q.dataUpdatedAt ? new Date(q.dataUpdatedAt) : undefined,
      reload,
      setData,
    }),
    [q.data, q.error, q.isPending, q.fetchStatus, q.isFetching, q.dataUpdatedAt, reload, setData],
  );
}

/** The cache key of a GET: path template, path parameters, query. */
export function getKey(path: string, options: { path?: unknown; query?: unknown } = {}): QueryKey {
  return [path, options.path ?? null, options.query ?? null];
}

/** A typed GET through the cache: useGet(path, options) answers what api.get(path, options) would. */
export function useGet<P extends PathsFor<'get'>>(
  path: P,
  options: RequestOptions<Op<P, 'get'>>,
  opts: QueryOpts<ResultOf<Op<P, 'get'>>> = {},
): ApiState<ResultOf<Op<P, 'get'>>> {
  const o = options as { path?: unknown; query?: unknown };
  return useApiQuery(
    getKey(path, o),
    (signal) => (api.get as (p: P, o: unknown) => Promise<ResultOf<Op<P, 'get'>>>)(path, { ...options, signal }),
    opts,
  );
}

/** Marks stale, and refetches where shown, every cached GET whose path starts with one of prefixes. */
export function invalidate(qc: QueryClient, ...prefixes: string[]): Promise<void> {
  return qc.invalidateQueries({
    predicate: (q: Query) => {
      const p = q.queryKey[0];
      return typeof p === 'string' && prefixes.some((x) => p === x || p.startsWith(x.endsWith('/') ? x : `${x}/`) || p.startsWith(`${x}?`));
    },
  });
}

export interface ActionState<A extends unknown[], R> {
  /** Runs the action; resolves with its result, or undefined when it failed (see error). */
  run: (...args: A) => Promise<R | undefined>;
  pending: boolean;
  error: ApiError | undefined;
  reset: () => void;
}

export interface MutateOpts<A extends unknown[]> {
  /** Path prefixes whose cached GETs are stale once the action settles (success or failure). */
  invalidates?: string[];
  /**
   * An optimistic change to the cache before the request goes out; returns
   * how to undo it, which runs when the request fails.
   */
  optimistic?: (qc: QueryClient, ...args: A) => (() => void) | void;
}

/** Wraps a mutation (create, release, delete …) with pending and error state and cache invalidation. */
export function useMutate<A extends unknown[], R>(fn: (...args: A) => Promise<R>, opts: MutateOpts<A> = {}): ActionState<A, R> {
  const qc = useQueryClient();
  const m = useMutation<R, ApiError, A, { undo?: () => void }>({
    mutationFn: async (args: A) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toApiError(err);
      }
    },
    onMutate: (args: A) => ({ undo: opts.optimistic?.(qc, ...args) ?? undefined }),
    onError: (_e, _args, ctx) => ctx?.undo?.(),
    onSettled: () => {
      if (opts.invalidates?.length) void invalidate(qc, ...opts.invalidates);
    },
  });
  const { mutateAsync, reset } = m;
  const run = useCallback(
    async (...args: A) => {
      try {
        return await mutateAsync(args);
      } catch {
        return undefined;
      }
    },
    [mutateAsync],
  );
  return { run, pending: m.isPending, error: m.error ?? undefined, reset };
}

/** Whether the browser says it is online (TanStack's onlineManager: the online/offline events). */
export function useOnline(): boolean {
  return useSyncExternalStore(
    (cb) => onlineManager.subscribe(cb),
    () => onlineManager.isOnline(),
    () => true,
  );
}

/** False while any cached query's last attempt failed to reach the server (network error). */
export function useServerReachable(): boolean {
  const qc = useQueryClient();
  return useSyncExternalStore(
    (cb) => qc.getQueryCache().subscribe(cb),
    () =>
      !qc
        .getQueryCache()
        .getAll()
        .some(
          (q) =>
            q.getObserversCount() > 0 && q.state.status === 'error' && toApiError(q.state.error).code === 'network_error',
        ),
    () => true,
  );
}
