// A thin typed fetch over the generated OpenAPI types (schema.d.ts):
//
//   const me = await api.get('/api/v1/users/me');
//   const a = await api.post('/api/v1/allocations', { body: { sku_id }, headers: { 'Idempotency-Key': key } });
//   await api.post('/api/v1/allocations/{allocation_id}/release', { path: { allocation_id: id } });
//   const page = await api.get('/api/v1/allocations', { query: { status: 'active', cursor } });
//
// Paths, parameters, bodies and results are checked against api/openapi.yaml.
// Every failure is thrown as an ApiError. A 401 triggers one silent refresh
// and one retry; a second 401 ends the session (the app goes to /login), and
// so does a 403 account_suspended.
import { ApiError } from './errors';
import type { paths } from './schema';
import { freshAccessToken, getAccessToken, notifySessionExpired, refreshSession, tokenIsFresh } from './session';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The paths that have an operation for method M. */
export type PathsFor<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, unknown> ? P : never;
}[keyof paths];

export type Op<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;

type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never;
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type Body<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? { body: B }
  : O extends { requestBody?: never }
    ? { body?: never }
    : O extends { requestBody?: { content: { 'application/json': infer B } } }
      ? { body?: B }
      : { body?: never };

type Success = 200 | 201 | 202 | 204;
type JsonContent<R> = R extends { content: { 'application/json': infer J } } ? J : undefined;
/** The JSON body of an operation's success response (undefined for 204). */
export type ResultOf<O> = O extends { responses: infer R }
  ? { [C in keyof R & Success]: JsonContent<R[C]> }[keyof R & Success]
  : never;

interface CommonOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Send no token and do not refresh on 401 (login, public endpoints). */
  anonymous?: boolean;
}

/** The options of operation O: `path` is required when the route has parameters. */
export type RequestOptions<O> = CommonOptions &
  Body<O> &
  ([PathParams<O>] extends [never] ? { path?: never } : { path: PathParams<O> }) &
  ([QueryParams<O>] extends [never] ? { query?: never } : { query?: QueryParams<O> });

// Make the options argument optional when nothing in it is required.
type Args<O> = object extends RequestOptions<O> ? [options?: RequestOptions<O>] : [options: RequestOptions<O>];

type LooseOptions = CommonOptions & {
  path?: Record<string, string | number>;
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
};

/** Fills `{name}` placeholders and appends the query string (empty values are left out). */
export function buildUrl(template: string, options: Pick<LooseOptions, 'path' | 'query'> = {}): string {
  let url = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = options.path?.[name];
    if (v === undefined) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(String(v));
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  if (qs) url += `?${qs}`;
  return url;
}

let fetchImpl: typeof fetch = (...args) => fetch(...args);

/** Tests swap the transport. */
export function setFetch(f: typeof fetch): void {
  fetchImpl = f;
}

/** Sends a request with auth and refresh-once-on-401; returns the raw Response (2xx only). */
export async function send(method: string, template: string, options: LooseOptions = {}): Promise<Response> {
  const url = buildUrl(template, options);
  const attempt = async (token: string | null): Promise<Response> => {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetchImpl(url, {
        method: method.toUpperCase(),
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        credentials: 'same-origin',
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw ApiError.network(err);
    }
  };

  if (options.anonymous) {
    const res = await attempt(null);
    if (!res.ok) throw await ApiError.fromResponse(res);
    return res;
  }

  // At most one refresh per request: up front when the token is known to be
  // stale, or after a 401 (the token may have been revoked or expired early).
  let refreshed = !tokenIsFresh();
  const token = await freshAccessToken(fetchImpl);
  if (token === null) {
    notifySessionExpired();
    throw new ApiError({ status: 401, code: 'unauthorized', message: 'You are not signed in.' });
  }
  let res = await attempt(token);
  if (res.status === 401 && !refreshed) {
    refreshed = true;
    if (await refreshSession(fetchImpl)) res = await attempt(getAccessToken());
  }
  if (res.status === 401) {
    const err = await ApiError.fromResponse(res);
    notifySessionExpired();
    throw err;
  }
  if (!res.ok) {
    const err = await ApiError.fromResponse(res);
    // A suspended account's tokens stop working (403 account_suspended): the
    // session is over; signing in again says why.
    if (err.code === 'account_suspended') notifySessionExpired();
    throw err;
  }
  return res;
}

async function call(method: Method, template: string, options?: LooseOptions): Promise<unknown> {
  const res = await send(method, template, options);
  if (res.status === 204) return undefined;
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

function typed<M extends Method>(method: M) {
  return <P extends PathsFor<M>>(path: P, ...args: Args<Op<P, M>>): Promise<ResultOf<Op<P, M>>> =>
    call(method, path, args[0] as LooseOptions | undefined) as Promise<ResultOf<Op<P, M>>>;
}

export const api = {
  get: typed('get'),
  post: typed('post'),
  put: typed('put'),
  patch: typed('patch'),
  delete: typed('delete'),
};

/**
 * Downloads a non-JSON response (the CSV exports) with the session's token,
 * and hands it to the browser as a file.
 */
export async function download<P extends PathsFor<'get'>>(
  path: P,
  options: RequestOptions<Op<P, 'get'>> & { filename?: string },
): Promise<void> {
  const res = await send('get', path, { ...(options as LooseOptions), headers: { Accept: '*/*' } });
  const blob = await res.blob();
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const named = /filename="?([^";]+)"?/.exec(disposition)?.[1];
  const name = options.filename ?? named ?? 'download';
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}
