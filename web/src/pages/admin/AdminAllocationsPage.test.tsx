import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, node, renderAdmin, users } from '../../features/admin/testing';
import { AdminAllocationsPage } from './AdminAllocationsPage';

const n1 = node('gpu-a');
const n2 = node('gpu-b');
const alloc = (id: string, name: string, status: string, node_id: string, user_id = users[0]!.id) => ({
  id: `${id}0000000-0000-4000-8000-000000000000`,
  user_id,
  name,
  status,
  desired_state: 'active',
  sku_id: 'h100x1',
  node_id,
  gpus: [],
  gpu_count: 1,
  price_per_hour_minor: 249,
  currency: 'USD',
  failure_reason: '',
  release_reason: '',
  attempts: 0,
  last_error: '',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
});
const a1 = alloc('a', 'train', 'active', n1.id);
const a2 = alloc('b', 'infer', 'released', n2.id, users[2]!.id);

function server(release?: (body: unknown) => Response) {
  return renderAdmin('/admin/allocations', '/admin/allocations', AdminAllocationsPage, (r) => {
    const p = r.url.pathname;
    if (p === '/api/v1/admin/users') return json(200, { items: users, next_cursor: '' });
    if (p === '/api/v1/admin/nodes') return json(200, { items: [n1, n2], next_cursor: '' });
    if (p === '/api/v1/admin/allocations') {
      const node = r.url.searchParams.get('node_id');
      return json(200, { items: [a1, a2].filter((a) => !node || a.node_id === node), next_cursor: '' });
    }
    if (p.endsWith('/force-release') && release) return release(r.body);
    return undefined;
  });
}

describe('AdminAllocationsPage', () => {
  it('names users and nodes, filters by node on the server and searches the page', async () => {
    const s = server();
    await screen.findByRole('link', { name: 'carol' });
    expect(screen.getByRole('table').textContent).toContain('gpu-a');
    expect(screen.getByText('Showing 2 allocations')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Node'), { target: { value: n2.id } });
    expect(await screen.findByText('Showing 1 matching allocation')).toBeTruthy();
    expect(s.calls()).toContain(`GET /api/v1/admin/allocations?node_id=${n2.id}`);
    expect(screen.queryByText('train')).toBeNull();
    fireEvent.change(screen.getByLabelText('Node'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'demo' } });
    expect(await screen.findByText('train')).toBeTruthy();
    expect(screen.queryByText('infer')).toBeNull();
  });

  it('shows how often a release failed and why, for a release the node has not confirmed', async () => {
    renderAdmin('/admin/allocations', '/admin/allocations', AdminAllocationsPage, (r) => {
      const p = r.url.pathname;
      if (p === '/api/v1/admin/users') return json(200, { items: users, next_cursor: '' });
      if (p === '/api/v1/admin/nodes') return json(200, { items: [n1, n2], next_cursor: '' });
      if (p === '/api/v1/admin/allocations') {
        const stuck = { ...a1, status: 'release_failed', attempts: 4, last_error: 'release: node agent is not connected' };
        return json(200, { items: [stuck], next_cursor: '' });
      }
      return undefined;
    });
    const note = await screen.findByText(/Release failed 4 times, still retrying/);
    expect(note.textContent).toContain('node agent is not connected');
    expect(note.getAttribute('title')).toBe('release: node agent is not connected');
  });

  it('force-releases only with a reason', async () => {
    const s = server(() => json(202, { ...a1, status: 'releasing', release_reason: 'admin: abuse' }));
    expect(screen.queryByRole('button', { name: 'Force-release infer' })).toBeNull();
    fireEvent.click(await screen.findByRole('button', { name: 'Force-release train' }));
    const dialog = screen.getByRole('dialog', { name: 'Force-release train?' });
    const confirm = within(dialog).getByRole('button', { name: 'Force release' }) as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: '  abuse  ' } });
    expect(confirm.disabled).toBe(false);
    fireEvent.click(confirm);
    expect(await screen.findByText('Release requested')).toBeTruthy();
    expect(s.requests.find((r) => r.method === 'POST')?.body).toEqual({ reason: 'abuse' });
  });

  it('shows the API error with its correlation id in the dialog', async () => {
    server(() => json(409, { code: 'invalid_state', message: 'already released', correlation_id: 'cid-fr' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Force-release train' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: 'x' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Force release' }));
    expect(await within(dialog).findByText('cid-fr')).toBeTruthy();
  });
});
