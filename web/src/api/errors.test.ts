import { describe, expect, it } from 'vitest';
import { ApiError, describeError, parseRetryAfter, routeMissing, serverDetail, toApiError } from './errors';

function res(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers });
}

describe('ApiError.fromResponse', () => {
  it('reads the envelope, the request id and Retry-After', async () => {
    const err = await ApiError.fromResponse(
      res(429, JSON.stringify({ code: 'rate_limited', message: 'slow down', correlation_id: 'req-1' }), {
        'Content-Type': 'application/json',
        'X-Request-ID': 'req-1',
        'Retry-After': '17',
      }),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limited');
    expect(err.message).toBe('slow down');
    expect(err.correlationId).toBe('req-1');
    expect(err.retryAfter).toBe(17);
  });

  it('falls back to X-Request-ID when the body has no correlation id', async () => {
    const err = await ApiError.fromResponse(
      res(409, JSON.stringify({ code: 'invalid_state', message: 'already releasing' }), { 'X-Request-ID': 'abc' }),
    );
    expect(err.correlationId).toBe('abc');
    expect(err.retryAfter).toBeNull();
  });

  it('copes with a body that is not the envelope (a proxy page)', async () => {
    const err = await ApiError.fromResponse(res(502, '<html>Bad gateway</html>', { 'X-Request-ID': 'p1' }));
    expect(err.code).toBe('unavailable');
    expect(err.status).toBe(502);
    expect(err.correlationId).toBe('p1');
  });

  it('copes with an empty body', async () => {
    const err = await ApiError.fromResponse(res(500, ''));
    expect(err.code).toBe('internal');
    expect(err.correlationId).toBeNull();
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  it('takes seconds or an HTTP date', () => {
    expect(parseRetryAfter('5', now)).toBe(5);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-3', now)).toBeNull();
  });
});

describe('describeError', () => {
  it('maps known codes to a human message and keeps unknown ones', () => {
    const known = new ApiError({ status: 402, code: 'insufficient_funds', message: 'balance 0' });
    expect(describeError(known)).toMatch(/balance is too low/);
    const unknown = new ApiError({ status: 400, code: 'brand_new', message: 'Server says so' });
    expect(describeError(unknown)).toBe('Server says so');
  });
  it('turns anything thrown into an ApiError', () => {
    expect(toApiError(new Error('boom')).code).toBe('client_error');
    expect(toApiError(ApiError.network(new TypeError('Failed to fetch'))).code).toBe('network_error');
  });
});

describe('describeError with details', () => {
  it('writes the 402 figures as money from minor units, with the currency', () => {
    const e = new ApiError({
      status: 402,
      code: 'insufficient_funds',
      message: '25 USD of credit is needed',
      details: { required_minor: 25, balance_minor: 0, currency: 'USD', burn_rate_per_hour_minor: 150, min_runway_seconds: 600 },
    });
    expect(describeError(e)).toBe(
      'Not enough credit: this needs USD 0.25 (10m at USD 1.50 an hour, counting what you already run) and you have USD 0.00. Add credit and try again.',
    );
    expect(serverDetail(e)).toBeNull();
  });
  it('says when to retry a rate limit, once', () => {
    const e = new ApiError({ status: 429, code: 'rate_limited', message: 'too many login attempts', retryAfter: 895 });
    expect(describeError(e)).toBe('Too many requests. Try again in 14m 55s.');
  });
  it('keeps the server words only where they name the field at fault', () => {
    const bad = new ApiError({ status: 400, code: 'invalid_request', message: 'name: at most 63 characters' });
    expect(serverDetail(bad)).toBe('name: at most 63 characters');
    const auth = new ApiError({ status: 401, code: 'invalid_credentials', message: 'invalid credentials' });
    expect(serverDetail(auth)).toBeNull();
  });
});

describe('routeMissing', () => {
  it('tells an older server without the route from a missing thing', () => {
    expect(routeMissing(new ApiError({ status: 404, code: 'not_found', message: 'route /api/v1/notifications not found' }))).toBe(true);
    expect(routeMissing(new ApiError({ status: 405, code: 'method_not_allowed', message: 'method POST is not allowed here' }))).toBe(true);
    expect(routeMissing(new ApiError({ status: 404, code: 'not_found', message: 'user not found' }))).toBe(false);
  });
});

describe('storage errors', () => {
  it('says a 413 storage_quota_exceeded with the used and quota figures in human units', async () => {
    const err = await ApiError.fromResponse(
      res(
        413,
        JSON.stringify({
          code: 'storage_quota_exceeded',
          message: 'quota exceeded',
          details: { used_bytes: 9.5 * 2 ** 30, quota_bytes: 10 * 2 ** 30 },
        }),
      ),
    );
    expect(err.status).toBe(413);
    expect(describeError(err)).toBe(
      'Not enough storage space: 9.5 GB of your 10 GB quota is in use. Delete some files, or ask an administrator for more space.',
    );
  });

  it('falls back to plain words without the figures', () => {
    const err = new ApiError({ status: 413, code: 'storage_quota_exceeded', message: 'x' });
    expect(describeError(err)).toMatch(/^This would go over your storage quota/);
  });

  it('explains storage_disabled and invalid_path without the server’s words', () => {
    expect(describeError(new ApiError({ status: 503, code: 'storage_disabled', message: 'storage off' }))).toMatch(
      /^Storage is not set up on this server/,
    );
    expect(describeError(new ApiError({ status: 400, code: 'invalid_path', message: 'bad' }))).toMatch(/not allowed/);
  });

  it('explains the payment codes with their figures', () => {
    expect(
      describeError(new ApiError({ status: 400, code: 'amount_out_of_range', message: 'x', details: { min_minor: 500, max_minor: 100000, currency: 'USD' } })),
    ).toBe('One top-up must be between USD 5.00 and USD 1,000.00.');
    expect(
      describeError(new ApiError({ status: 409, code: 'refund_exceeds_payment', message: 'x', details: { refundable_minor: 250, currency: 'USD' } })),
    ).toBe('At most USD 2.50 of this payment can still be refunded.');
    expect(describeError(new ApiError({ status: 503, code: 'payments_disabled', message: 'x' }))).toMatch(/not set up/);
  });
});
