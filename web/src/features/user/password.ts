// POST /api/v1/users/me/password. A wrong current password is a 401
// invalid_credentials, which the shared client would take for an ended
// session (refresh, retry, then sign out). Here it is an answer to show on
// the form, so this call handles its own 401s: only a token the server no
// longer accepts ends the session.
import { ApiError } from '../../api/errors';
import { freshAccessToken, notifySessionExpired } from '../../api/session';

export const PASSWORD_PATH = '/api/v1/users/me/password';
export const MIN_PASSWORD_LENGTH = 12;

export async function changePassword(
  current: string,
  next: string,
  fetchImpl: typeof fetch = (...a) => fetch(...a),
): Promise<void> {
  const token = await freshAccessToken(fetchImpl);
  if (!token) {
    notifySessionExpired();
    throw new ApiError({ status: 401, code: 'unauthorized', message: 'You are not signed in.' });
  }
  let res: Response;
  try {
    res = await fetchImpl(PASSWORD_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ current_password: current, new_password: next }),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw ApiError.network(err);
  }
  if (res.ok) return;
  const err = await ApiError.fromResponse(res);
  if (err.status === 401 && err.code !== 'invalid_credentials') notifySessionExpired();
  throw err;
}

/** Checks the form before sending; returns field errors (empty when fine). */
export function checkPasswordForm(f: { current: string; next: string; confirm: string }): {
  current?: string;
  next?: string;
  confirm?: string;
} {
  const out: { current?: string; next?: string; confirm?: string } = {};
  if (!f.current) out.current = 'Enter your current password.';
  if (f.next.length < MIN_PASSWORD_LENGTH) out.next = `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  else if (f.next === f.current) out.next = 'The new password must differ from the current one.';
  if (f.confirm !== f.next) out.confirm = 'The two new passwords do not match.';
  return out;
}
