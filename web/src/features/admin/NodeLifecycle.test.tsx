import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../api/types';
import { NodeDetailPage } from '../../pages/admin/NodeDetailPage';
import { DrainDialog } from './NodeLifecycle';
import { json, node, renderAdmin } from './testing';
import { toRfc3339Utc } from './drain';

// A fixed clock: 7 Dec 2026, 09:41:12 local time.
const NOW = new Date(2026, 11, 7, 9, 41, 12);
const idle = node('gpu-idle') as unknown as Node;

function renderDialog(handler: Parameters<typeof renderAdmin>[3]) {
  const Dialog = () => <DrainDialog node={idle} now={() => NOW} onClose={() => {}} />;
  return renderAdmin('/x', '/x', Dialog, handler);
}

describe('DrainDialog', () => {
  it('sends a quick choice as RFC 3339 in UTC, with the reason', async () => {
    const s = renderDialog((r) =>
      r.method === 'POST' ? json(200, { ...idle, admin_state: 'draining', drain_deadline: (r.body as { deadline: string }).deadline, drain_reason: 'kernel' }) : undefined,
    );
    const dialog = screen.getByRole('dialog', { name: 'Drain gpu-idle' });
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: '  kernel upgrade ' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'In 24 hours' }));
    const input = within(dialog).getByLabelText('Deadline') as HTMLInputElement;
    expect(input.type).toBe('datetime-local');
    expect(input.value).toBe('2026-12-08T09:42');
    const utc = toRfc3339Utc(new Date(2026, 11, 8, 9, 42));
    expect(within(dialog).getByTestId('drain-utc').textContent).toBe(utc);
    fireEvent.click(within(dialog).getByRole('button', { name: 'In 1 hour' }));
    expect(input.value).toBe('2026-12-07T10:42');
    fireEvent.click(within(dialog).getByRole('button', { name: 'In 7 days' }));
    expect(input.value).toBe('2026-12-14T09:42');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Drain node' }));
    await waitFor(() => expect(s.calls()).toContain(`POST /api/v1/admin/nodes/${idle.id}/drain`));
    const post = s.requests.find((r) => r.method === 'POST')!;
    expect(post.body).toEqual({ reason: 'kernel upgrade', deadline: toRfc3339Utc(new Date(2026, 11, 14, 9, 42)) });
  });

  it('says what is missing before sending anything', async () => {
    const s = renderDialog(() => undefined);
    const dialog = screen.getByRole('dialog', { name: 'Drain gpu-idle' });
    fireEvent.change(within(dialog).getByLabelText('Deadline'), { target: { value: '2026-12-07T09:00' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Drain node' }));
    expect(await within(dialog).findByText('The deadline must be in the future.')).toBeTruthy();
    expect(within(dialog).getByText('Say why, for the owners: it is shown to them.')).toBeTruthy();
    expect(within(dialog).getByLabelText('Deadline').getAttribute('aria-invalid')).toBe('true');
    expect(within(dialog).getByLabelText('Reason').getAttribute('aria-invalid')).toBe('true');
    expect(s.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it("shows the server's field error under its field", async () => {
    renderDialog((r) =>
      r.method === 'POST'
        ? json(400, { code: 'invalid_request', message: 'deadline must be at most 30 days ahead', correlation_id: 'c1', details: { field: 'deadline' } })
        : undefined,
    );
    const dialog = screen.getByRole('dialog', { name: 'Drain gpu-idle' });
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: 'kernel' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'In 7 days' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Drain node' }));
    const deadline = within(dialog).getByLabelText('Deadline');
    await waitFor(() => expect(deadline.getAttribute('aria-invalid')).toBe('true'));
    const errorId = deadline.getAttribute('aria-describedby')!.split(' ').find((id) => id.endsWith('-error'))!;
    expect(document.getElementById(errorId)?.textContent).toContain('deadline must be at most 30 days ahead');
    expect(within(dialog).getByLabelText('Reason').getAttribute('aria-invalid')).toBeNull();
    expect(within(dialog).queryByTestId('error-box')).toBeNull();
  });
});

describe('NodeDetailPage maintenance', () => {
  const draining = node('gpu-drain', {
    admin_state: 'draining',
    drain_deadline: '2026-12-08T10:00:00Z',
    drain_reason: 'kernel upgrade',
  });

  it('shows a draining node with its deadline and reason, and undrains it', async () => {
    let current: Record<string, unknown> = draining;
    const s = renderAdmin('/admin/nodes/:id', `/admin/nodes/${draining.id}`, NodeDetailPage, (r) => {
      if (r.url.pathname.endsWith('/undrain')) {
        current = { ...draining, admin_state: 'active', drain_deadline: null, drain_reason: '' };
        return json(200, current);
      }
      if (r.url.pathname === `/api/v1/admin/nodes/${draining.id}`) return json(200, current);
      return undefined;
    });
    const state = await screen.findByTestId('admin-state');
    expect(state.textContent).toContain('draining');
    expect(state.textContent).toContain('Dec 8, 2026');
    expect(state.textContent).toContain('Reason: kernel upgrade');
    expect(state.querySelector('time')?.getAttribute('dateTime')).toBe('2026-12-08T10:00:00Z');
    fireEvent.click(screen.getByRole('button', { name: 'Undrain gpu-drain' }));
    await waitFor(() => expect(screen.getByTestId('admin-state').getAttribute('data-state')).toBe('active'));
    expect(s.calls()).toContain(`POST /api/v1/admin/nodes/${draining.id}/undrain`);
  });

  it('explains a refused decommission in plain words: drain it first', async () => {
    const busy = node('gpu-busy');
    renderAdmin('/admin/nodes/:id', `/admin/nodes/${busy.id}`, NodeDetailPage, (r) => {
      if (r.url.pathname.endsWith('/decommission')) {
        return json(409, { code: 'node_in_use', message: 'node has allocated GPUs', correlation_id: 'c2' });
      }
      if (r.url.pathname === `/api/v1/admin/nodes/${busy.id}`) return json(200, busy);
      return undefined;
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Decommission gpu-busy' }));
    const dialog = screen.getByRole('dialog', { name: 'Decommission gpu-busy?' });
    expect(dialog.textContent).toContain('for good');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Decommission for good' }));
    const note = await within(dialog).findByTestId('decommission-in-use');
    expect(note.textContent).toContain('Drain it first');
    expect(note.getAttribute('role')).toBe('alert');
  });
});
