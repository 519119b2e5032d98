/**
 * A fresh Idempotency-Key ("web-" and 32 hex digits) for a create or a money
 * movement. crypto.getRandomValues works on plain-http LAN origins too, where
 * crypto.randomUUID does not exist.
 */
export function newIdempotencyKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `web-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}
