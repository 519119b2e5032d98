import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { gpu, json, node, renderAdmin } from '../../features/admin/testing';
import { NodesPage, agentCommand, shortModel } from './NodesPage';

const idle = node('gpu-idle');
const busy = node('gpu-busy', { gpus: [gpu(0, true), gpu(1, false, 'unhealthy')] });
const off = node('gpu-off', { admin_state: 'disabled' });

describe('NodesPage', () => {
  it('shows GPU health and agent version, and keeps Disable off while a node is in use', async () => {
    renderAdmin('/admin/nodes', '/admin/nodes', NodesPage, (r) =>
      r.url.pathname === '/api/v1/admin/nodes' ? json(200, { items: [idle, busy, off], next_cursor: '' }) : undefined,
    );
    const disableBusy = await screen.findByRole('button', { name: 'Disable gpu-busy' });
    expect((disableBusy as HTMLButtonElement).disabled).toBe(true);
    expect(disableBusy.getAttribute('aria-describedby')).toBeTruthy();
    expect(document.getElementById(disableBusy.getAttribute('aria-describedby')!)?.textContent).toBe('In use');
    expect((screen.getByRole('button', { name: 'Disable gpu-idle' }) as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByRole('button', { name: 'Enable gpu-off' })).toBeTruthy();
    expect(screen.getByText('1 unhealthy')).toBeTruthy();
    expect(screen.getByText('GPU 1: XID 79')).toBeTruthy();
    expect(screen.getAllByText('v1.2.3')).toHaveLength(3);
    expect(screen.getAllByText(/^Agent/)).toHaveLength(3);
  });

  it('sends the status filter to the API from the URL', async () => {
    const s = renderAdmin('/admin/nodes', '/admin/nodes?status=offline&state=disabled', NodesPage, () =>
      json(200, { items: [], next_cursor: '' }),
    );
    await screen.findByText('No node matches');
    expect(s.calls()).toContain('GET /api/v1/admin/nodes?status=offline&admin_state=disabled');
  });

  it('searches hostnames on the server, once typing pauses', async () => {
    const s = renderAdmin('/admin/nodes', '/admin/nodes?status=online', NodesPage, (r) => {
      if (r.url.pathname !== '/api/v1/admin/nodes') return undefined;
      const q = r.url.searchParams.get('q') ?? '';
      return json(200, { items: [idle, busy, off].filter((n) => n.hostname.includes(q)), next_cursor: '' });
    });
    await screen.findByRole('button', { name: 'Disable gpu-busy' });
    expect(screen.getByText('Showing 3 matching nodes')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'BUSY ' } });
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Disable gpu-idle' })).toBeNull());
    // The fake is case-sensitive; the page sends what was typed, trimmed, and the server lowers it.
    expect(s.calls()).toContain('GET /api/v1/admin/nodes?q=BUSY&status=online');
    expect(await screen.findByText('No node matches')).toBeTruthy();
  });

  it('disables an idle node after confirmation', async () => {
    let current = idle;
    const s = renderAdmin('/admin/nodes', '/admin/nodes', NodesPage, (r) => {
      if (r.method === 'DELETE') {
        current = { ...idle, admin_state: 'disabled' };
        return json(200, current);
      }
      return json(200, { items: [current], next_cursor: '' });
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Disable gpu-idle' }));
    const dialog = screen.getByRole('dialog', { name: 'Disable gpu-idle?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Disable node' }));
    await screen.findByRole('button', { name: 'Enable gpu-idle' });
    expect(s.calls()).toContain(`DELETE /api/v1/admin/nodes/${idle.id}`);
  });

  it('registers a node and shows its join token once, with the agent command', async () => {
    const created = node('gpu-new', { gpus: [], agent_version: '', last_heartbeat_at: null });
    renderAdmin('/admin/nodes', '/admin/nodes', NodesPage, (r) => {
      if (r.method === 'POST' && r.url.pathname === '/api/v1/admin/nodes') return json(201, created);
      if (r.method === 'POST' && r.url.pathname.endsWith('/join-token')) {
        return json(201, { node_id: created.id, token: 'gjt_secret', expires_at: '2026-01-01T01:00:00Z' });
      }
      return json(200, { items: [idle], next_cursor: '' });
    });
    fireEvent.click((await screen.findAllByRole('button', { name: 'Add node' }))[0]!);
    const dialog = screen.getByRole('dialog', { name: 'Add a node' });
    fireEvent.change(within(dialog).getByLabelText('Hostname'), { target: { value: 'gpu-new' } });
    expect((within(dialog).getByLabelText('Region') as HTMLInputElement).value).toBe('local-1');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Register node' }));
    const shown = await screen.findByRole('dialog', { name: 'Node registered' });
    expect(within(shown).getByTestId('join-token').textContent).toBe('gjt_secret');
    expect(within(shown).getByTestId('join-command').textContent).toBe(agentCommand(window.location.origin, 'gjt_secret'));
    expect(within(shown).getByText(/shown once/)).toBeTruthy();
    fireEvent.click(within(shown).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByTestId('join-token')).toBeNull());
  });

  it('probes a node and says what it answered', async () => {
    renderAdmin('/admin/nodes', '/admin/nodes', NodesPage, (r) => {
      if (r.url.pathname.endsWith('/probe')) return json(200, { ...busy, status: 'online' });
      return json(200, { items: [busy], next_cursor: '' });
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Probe gpu-busy' }));
    expect(await screen.findByText('gpu-busy answered')).toBeTruthy();
    expect(screen.getByText('Online · 1 of 2 GPUs healthy · agent v1.2.3')).toBeTruthy();
  });

  it('formats models and the agent command', () => {
    expect(shortModel('NVIDIA H100 80GB HBM3')).toBe('H100 80GB HBM3');
    expect(agentCommand('https://gpu.example.com', 't')).toBe('gpuaas agent --server https://gpu.example.com --join-token t');
  });
});
