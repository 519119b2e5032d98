/**
 * A fresh Idempotency-Key (32 hex digits). crypto.getRandomValues exists on
 * plain-http LAN origins too, where crypto.randomUUID does not.
 */
export function newIdempotencyKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
