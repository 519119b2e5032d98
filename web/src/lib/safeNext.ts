/**
 * The `next` parameter of /login, accepted only as a path on this origin
 * ("/allocations/x?y"), never "//evil.example" or "https://…": an open
 * redirect would let a phishing link send people elsewhere after sign-in.
 */
export function safeNext(next: string | null | undefined, fallback = '/marketplace'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  if (next.startsWith('/login')) return fallback;
  return next;
}
