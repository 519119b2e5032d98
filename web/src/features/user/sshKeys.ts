// Client-side help for the add-key form. The server is the judge of what is
// a valid key (docs/api.md, "SSH keys"); this only catches the obvious
// mistakes early and says where an API error belongs on the form.
import type { ApiError } from '../../api/errors';

const KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/** The comment at the end of a .pub line ("… user@host"), a good default name. */
export function keyComment(publicKey: string): string {
  const parts = publicKey.trim().split(/\s+/);
  if (parts.length < 3 || !KEY_TYPES.includes(parts[0] ?? '')) return '';
  return parts.slice(2).join(' ').slice(0, 64);
}

/** An early hint for a pasted key; undefined when it looks like a public key line. */
export function precheckKey(publicKey: string): string | undefined {
  const v = publicKey.trim();
  if (!v) return 'Paste the contents of your public key file (for example ~/.ssh/id_ed25519.pub).';
  if (/PRIVATE KEY/.test(v)) return 'This is a private key. Paste the public key (the .pub file) instead, and keep the private key secret.';
  const type = v.split(/\s+/)[0] ?? '';
  if (!KEY_TYPES.includes(type)) return `Expected a line starting with a key type such as ssh-ed25519 or ssh-rsa.`;
  return undefined;
}

export function precheckName(name: string): string | undefined {
  const n = name.trim();
  if (!n) return 'Give the key a name, such as the laptop it belongs to.';
  if (n.length > 64) return 'At most 64 characters.';
  return undefined;
}

/** Which form field an API error belongs to: the key, the name, or neither (shown above the buttons). */
export function fieldOfError(err: ApiError): 'public_key' | 'name' | null {
  if (err.code === 'invalid_ssh_key' || err.code === 'duplicate_key') return 'public_key';
  if (err.code === 'invalid_request' && /\bname\b/i.test(err.message)) return 'name';
  if (err.code === 'invalid_request' && /public_key|key/i.test(err.message)) return 'public_key';
  return null;
}
