import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderPage } from '../../features/user/testing';
import { KeysPage } from './KeysPage';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd2S1b1Y5uO2b1m9o3c8m1x4m7a9a1q2w3e4r5t6y7u';

describe('KeysPage', () => {
  it('adds a key, taking its comment as the name, and shows API errors on the field', async () => {
    let keys: unknown[] = [];
    let attempts = 0;
    const { calls } = renderPage(<KeysPage />, {
      path: '/keys',
      handlers: {
        'GET /api/v1/ssh-keys': () => json(200, { items: keys, next_cursor: '' }),
        'POST /api/v1/ssh-keys': (c) => {
          attempts++;
          if (attempts === 1) {
            return json(400, { code: 'invalid_ssh_key', message: 'not a public key', correlation_id: 'k-400' });
          }
          const k = { id: 'k1', name: (c.body as { name: string }).name, fingerprint: 'SHA256:abc', key_type: 'ssh-ed25519', bits: 256, public_key: KEY, created_at: '2025-01-01T00:00:00Z' };
          keys = [k];
          return json(201, k);
        },
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Add your first key' }));
    const dialog = await screen.findByRole('dialog', { name: 'Add an SSH key' });
    fireEvent.change(within(dialog).getByLabelText('Public key'), { target: { value: `${KEY} me@laptop` } });
    expect(within(dialog).getByLabelText('Name')).toHaveProperty('value', 'me@laptop');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add key' }));
    const keyField = within(dialog).getByLabelText('Public key');
    await waitFor(() => expect(keyField.getAttribute('aria-invalid')).toBe('true'));
    const described = document.getElementById(keyField.getAttribute('aria-describedby')!.split(' ').at(-1)!)!;
    expect(described.textContent).toContain('not one OpenSSH public key line');
    // The server's words name the problem; the reference id stays out of the field's text.
    expect(described.textContent).toContain('not a public key');
    expect(described.textContent).not.toContain('k-400');

    fireEvent.click(within(dialog).getByRole('button', { name: 'Add key' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const table = await screen.findByRole('table', { name: 'Your SSH keys' });
    expect(within(table).getByText('SHA256:abc')).toBeTruthy();
    expect(calls.filter((c) => c.method === 'POST').at(-1)!.body).toEqual({ name: 'me@laptop', public_key: `${KEY} me@laptop` });
  });

  it('deletes a key after confirming', async () => {
    let keys = [{ id: 'k1', name: 'laptop', fingerprint: 'SHA256:abc', key_type: 'ssh-ed25519', bits: 256, public_key: KEY, created_at: '2025-01-01T00:00:00Z' }];
    renderPage(<KeysPage />, {
      path: '/keys',
      handlers: {
        'GET /api/v1/ssh-keys': () => json(200, { items: keys, next_cursor: '' }),
        'DELETE /api/v1/ssh-keys/k1': () => {
          keys = [];
          return new Response(null, { status: 204 });
        },
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Delete laptop' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete this SSH key?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete key' }));
    expect(await screen.findByText('No SSH keys yet')).toBeTruthy();
  });

  it('takes a deleted key off at once, and puts it back when the server refuses', async () => {
    const keys = [{ id: 'k1', name: 'laptop', fingerprint: 'SHA256:abc', key_type: 'ssh-ed25519', bits: 256, public_key: KEY, created_at: '2025-01-01T00:00:00Z' }];
    let answer: (r: Response) => void = () => {};
    renderPage(<KeysPage />, {
      path: '/keys',
      handlers: {
        'GET /api/v1/ssh-keys': () => json(200, { items: keys, next_cursor: '' }),
        'DELETE /api/v1/ssh-keys/k1': () => new Promise<Response>((r) => (answer = r)),
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Delete laptop' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete this SSH key?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete key' }));
    // Optimistic: the row is gone while the server thinks.
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Delete laptop' })).toBeNull());
    answer(json(500, { code: 'internal', message: 'boom', correlation_id: 'd-500' }));
    // Refused: the row is back, and the dialog says what happened.
    expect(await screen.findByRole('button', { name: 'Delete laptop' })).toBeTruthy();
    expect(await within(dialog).findByText(/Something went wrong on the server/)).toBeTruthy();
  });
});
