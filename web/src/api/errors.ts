// ApiError is the one shape every failed request takes in the console: the
// server's envelope {code, message, correlation_id, details} plus the status
// and the Retry-After header. Screens show it through <ErrorBox>, which says
// what happened in words made from the code and the details (describeError),
// never the raw status; the correlation id is behind a "Details" toggle.
import { formatBytes, formatDuration, formatMoney } from '../lib/format';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly correlationId: string | null;
  /** Seconds to wait before retrying (429, 503), or null. */
  readonly retryAfter: number | null;
  /** The figures behind the error (the envelope's details), or {}. */
  readonly details: Record<string, unknown>;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    correlationId?: string | null;
    retryAfter?: number | null;
    details?: Record<string, unknown> | null;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.correlationId = init.correlationId ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.details = init.details ?? {};
  }

  /** Builds the error from a non-2xx response; never throws. */
  static async fromResponse(res: Response, now: Date = new Date()): Promise<ApiError> {
    const headerId = res.headers.get('X-Request-ID');
    const retryAfter = parseRetryAfter(res.headers.get('Retry-After'), now);
    let body: unknown = null;
    try {
      const text = await res.text();
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (isEnvelope(body)) {
      return new ApiError({
        status: res.status,
        code: body.code,
        message: body.message,
        correlationId: body.correlation_id || headerId,
        retryAfter,
        details: typeof body.details === 'object' && body.details !== null ? body.details : null,
      });
    }
    // Not our envelope: a proxy in between, or a body that is not JSON.
    return new ApiError({
      status: res.status,
      code: fallbackCode(res.status),
      message: res.statusText || `HTTP ${res.status}`,
      correlationId: headerId,
      retryAfter,
    });
  }

  /** The request never got an answer (offline, DNS, connection refused, CORS). */
  static network(cause: unknown): ApiError {
    const err = new ApiError({
      status: 0,
      code: 'network_error',
      message: cause instanceof Error ? cause.message : 'The request did not reach the server.',
    });
    return err;
  }
}

/** Any thrown value as an ApiError, so screens handle one type. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DOMException && err.name === 'AbortError') {
    return new ApiError({ status: 0, code: 'aborted', message: 'The request was cancelled.' });
  }
  return new ApiError({
    status: 0,
    code: 'client_error',
    message: err instanceof Error ? err.message : String(err),
  });
}

interface Envelope {
  code: string;
  message: string;
  correlation_id?: string;
  details?: Record<string, unknown> | null;
}

function isEnvelope(v: unknown): v is Envelope {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.code === 'string' && typeof o.message === 'string';
}

function fallbackCode(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  if (status >= 500) return 'internal';
  return `http_${status}`;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: Date = new Date()): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10);
  // An HTTP date has a weekday and month name; Date.parse alone would read "-3" as a year.
  if (!/[a-z]{3}/i.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

// What to tell a person for each stable error code (docs/api.md): what
// happened and what to do, in plain words. The server's own message is only
// shown where it names the thing at fault (say, which field is invalid).
const messages: Record<string, string> = {
  invalid_request: 'Something in the form was not accepted.',
  weak_password: 'Choose a stronger password: at least 12 characters, not a common one, not the username.',
  unknown_region: 'That region does not exist.',
  invalid_ssh_key: 'That is not one OpenSSH public key line of an accepted type.',
  image_not_allowed: 'That image is not allowed here: the operator allows only some images. Ask them which.',
  unknown_ssh_key: 'One of the chosen SSH keys no longer exists. Reload and choose again.',
  unauthorized: 'Your session has ended. Sign in again.',
  invalid_token: 'Your session has ended. Sign in again.',
  token_expired: 'Your session has expired. Sign in again.',
  token_revoked: 'Your session was signed out. Sign in again.',
  refresh_token_reused: 'Your session was signed out for safety. Sign in again.',
  invalid_credentials: 'Wrong username or password.',
  account_suspended: 'This account is suspended. Ask an administrator if you think this is a mistake.',
  forbidden: 'You need the admin role for this.',
  not_found: 'Not found. It may have been deleted, or it belongs to someone else.',
  method_not_allowed: 'The server does not allow this here.',
  insufficient_funds: 'Your balance is too low for this. Add credit and try again.',
  duplicate_hostname: 'A node with this hostname already exists.',
  username_taken: 'That username is taken.',
  email_taken: 'That email address is already in use.',
  node_in_use: 'The node still has allocated GPUs.',
  invalid_state: 'That is not possible in its current state. The page now shows the latest.',
  conflict: 'Someone changed this at the same time. The page now shows the latest.',
  duplicate_key: 'You have already added this SSH key.',
  too_many_keys: 'You already have the maximum of 32 SSH keys. Delete one first.',
  insufficient_capacity: 'Sold out: no node has enough free GPUs for this right now. Try another SKU or try again later.',
  idempotency_key_mismatch: 'This clashed with an earlier request. Reload and try again.',
  payload_too_large: 'That is too large to send.',
  invalid_path: 'That name or path is not allowed: no "..", no control characters, at most 255 bytes a name.',
  storage_quota_exceeded: 'This would go over your storage quota. Delete some files, or ask an administrator for more space.',
  storage_disabled:
    'Storage is not set up on this server: an operator has to configure it before files can be kept here. Your allocations work without it.',
  payments_disabled: 'Payments are not set up on this server. Ask an administrator to add credit.',
  amount_out_of_range: 'That amount is outside what can be paid in one top-up.',
  refund_exceeds_payment: 'That is more than is left to refund of this payment.',
  stripe_error: 'The payment provider did not answer as expected. Try again in a moment.',
  invalid_signature: 'The payment provider’s message could not be verified.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  too_many_connections: 'Too many open connections. Close a terminal or another tab and try again.',
  too_many_websockets: 'Too many open connections. Close a terminal or another tab and try again.',
  user_has_allocations: 'This user still holds allocations. Release them first.',
  user_has_balance: 'This user still has a balance. Bring it to zero first.',
  reset_link_expired: 'This reset link has been used or has expired. Ask an administrator for a new one.',
  join_token_expired: 'The join token has expired. Issue a new one.',
  join_token_used: 'The join token has already been used. Issue a new one.',
  join_token_revoked: 'The join token was revoked. Issue a new one.',
  agent_disconnected: 'The node’s agent is not connected right now.',
  internal: 'Something went wrong on the server. If it keeps happening, report it with the details below.',
  unavailable: 'The service is briefly unavailable. Try again in a moment.',
  network_error: 'Cannot reach the server. Check your connection; the page refreshes when it is back.',
  aborted: 'The request was cancelled.',
  client_error: 'Something went wrong in the page. Reload it and try again.',
};

/** Codes whose server message names what is wrong (a field, a limit): shown under the mapped text. */
const SERVER_MESSAGE_HELPS = new Set(['invalid_request', 'invalid_ssh_key', 'weak_password', 'invalid_state', 'conflict']);

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The human message for an error, from its code and details; the server's message only for a code we do not know. */
export function describeError(err: ApiError): string {
  const d = err.details;
  if (err.code === 'amount_out_of_range') {
    const min = num(d.min_minor);
    const max = num(d.max_minor);
    if (min !== null && max !== null && typeof d.currency === 'string') {
      return `One top-up must be between ${formatMoney(min, d.currency)} and ${formatMoney(max, d.currency)}.`;
    }
  }
  if (err.code === 'refund_exceeds_payment') {
    const left = num(d.refundable_minor);
    if (left !== null && typeof d.currency === 'string') {
      return `At most ${formatMoney(left, d.currency)} of this payment can still be refunded.`;
    }
  }
  if (err.code === 'insufficient_funds') {
    const need = num(d.required_minor);
    const have = num(d.balance_minor);
    const currency = typeof d.currency === 'string' ? d.currency : null;
    if (need !== null && have !== null && currency) {
      const burn = num(d.burn_rate_per_hour_minor);
      const runway = num(d.min_runway_seconds);
      const why =
        burn !== null && runway !== null
          ? ` (${formatDuration(runway)} at ${formatMoney(burn, currency)} an hour, counting what you already run)`
          : '';
      return `Not enough credit: this needs ${formatMoney(need, currency)}${why} and you have ${formatMoney(Math.max(0, have), currency)}. Add credit and try again.`;
    }
  }
  if (err.code === 'storage_quota_exceeded') {
    const used = num(d.used_bytes);
    const quota = num(d.quota_bytes);
    if (used !== null && quota !== null) {
      return `Not enough storage space: ${formatBytes(used)} of your ${formatBytes(quota)} quota is in use. Delete some files, or ask an administrator for more space.`;
    }
  }
  if (err.code === 'rate_limited' && err.retryAfter && err.retryAfter > 0) {
    return `Too many requests. Try again in ${formatDuration(err.retryAfter)}.`;
  }
  return messages[err.code] ?? (err.message || 'Something went wrong.');
}

/**
 * The server has no such route (an older server than the console): its
 * router answers 405, or 404 "route <path> not found"; a 404 about a missing
 * thing (a user, a token) is not this.
 */
export function routeMissing(err: ApiError | undefined): boolean {
  if (!err) return false;
  return err.status === 405 || (err.status === 404 && /^route\s/.test(err.message));
}

/** The server's own words, when they add something to describeError's (a field name, a limit). */
export function serverDetail(err: ApiError): string | null {
  if (!SERVER_MESSAGE_HELPS.has(err.code)) return null;
  const m = err.message.trim();
  return m && m !== describeError(err) ? m : null;
}
