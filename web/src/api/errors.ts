// ApiError is the one shape every failed request takes in the console: the
// server's envelope {code, message, correlation_id} plus the status and the
// Retry-After header. Screens show it through <ErrorBox>.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly correlationId: string | null;
  /** Seconds to wait before retrying (429, 503), or null. */
  readonly retryAfter: number | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    correlationId?: string | null;
    retryAfter?: number | null;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.correlationId = init.correlationId ?? null;
    this.retryAfter = init.retryAfter ?? null;
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

// What to tell a person for each stable error code (docs/api.md). The server's
// own message is shown next to it, so this says what to do rather than
// repeating what happened.
const messages: Record<string, string> = {
  invalid_request: 'The request was not accepted. Check the fields and try again.',
  weak_password: 'Choose a stronger password: at least 12 characters, not a common one, not the username.',
  unknown_region: 'That region does not exist.',
  invalid_ssh_key: 'That is not one OpenSSH public key line of an accepted type.',
  unauthorized: 'Your session has ended. Sign in again.',
  invalid_token: 'Your session has ended. Sign in again.',
  token_expired: 'Your session has expired. Sign in again.',
  token_revoked: 'Your session was signed out. Sign in again.',
  refresh_token_reused: 'Your session was signed out for safety. Sign in again.',
  invalid_credentials: 'Wrong username or password.',
  forbidden: 'You need the admin role for this.',
  not_found: 'Not found. It may have been deleted, or it belongs to someone else.',
  method_not_allowed: 'The server does not allow this action here.',
  insufficient_funds: 'Your balance is too low for this. Add credit and try again.',
  duplicate_hostname: 'A node with this hostname already exists.',
  username_taken: 'That username is taken.',
  email_taken: 'That email address is already in use.',
  node_in_use: 'The node still has allocated GPUs.',
  invalid_state: 'This is not possible in the current state. Reload to see the latest.',
  duplicate_key: 'You have already added this SSH key.',
  too_many_keys: 'You already have the maximum of 32 SSH keys. Delete one first.',
  insufficient_capacity: 'No node has enough free GPUs for this SKU right now.',
  idempotency_key_mismatch: 'This request clashed with an earlier one. Reload and try again.',
  payload_too_large: 'The request is too large.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  internal: 'The server hit an unexpected error. Quote the correlation id when you report it.',
  unavailable: 'The service is temporarily unavailable. Try again shortly.',
  network_error: 'Cannot reach the server. Check your connection and try again.',
  aborted: 'The request was cancelled.',
};

/** The human message for an error: by code, else the server's message. */
export function describeError(err: ApiError): string {
  return messages[err.code] ?? err.message;
}
