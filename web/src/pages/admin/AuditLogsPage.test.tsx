import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin, users } from '../../features/admin/testing';
import { AuditLogsPage, auditQuery } from './AuditLogsPage';

const entry = {
  id: 7,
  occurred_at: '2026-01-01T10:00:00Z',
  actor_user_id: users[1]!.id,
  action: 'billing.adjustment',
  target_type: 'user',
  target_id: users[0]!.id,
  metadata: { amount_minor: 1234, currency: 'USD', reason: 'goodwill' },
  correlation_id: 'cid-audit',
  client_ip: '127.0.0.1',
};

function server() {
  return renderAdmin('/admin/audit-logs', `/admin/audit-logs?actor_user_id=${users[1]!.id}`, AuditLogsPage, (r) => {
    if (r.url.pathname === '/api/v1/admin/users') return json(200, { items: users, next_cursor: '' });
    if (r.url.pathname === '/api/v1/admin/audit-logs') {
      return json(200, { items: [entry], next_cursor: r.url.searchParams.get('cursor') ? '' : 'next' });
    }
    return undefined;
  });
}

describe('AuditLogsPage', () => {
  it('reads filters from the URL, shows metadata readably and names people', async () => {
    const s = server();
    expect(await screen.findByText('Credit USD +12.34 — goodwill')).toBeTruthy();
    expect(s.calls()).toContain(`GET /api/v1/admin/audit-logs?actor_user_id=${users[1]!.id}`);
    expect(await screen.findByRole('link', { name: 'demo' })).toBeTruthy();
    expect(screen.getByRole('table').textContent).toContain('Balance adjustment');
    expect(screen.getByText('cid-audit')).toBeTruthy();
  });

  it('applies the form on submit and pages with the cursor', async () => {
    const s = server();
    await screen.findByText('Credit USD +12.34 — goodwill');
    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'node.disable' } });
    fireEvent.change(screen.getByLabelText('Target type'), { target: { value: 'node' } });
    fireEvent.change(screen.getByLabelText('Target id'), { target: { value: 'n-1' } });
    expect(s.calls().some((c) => c.includes('action=node.disable'))).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    await screen.findByText('Credit USD +12.34 — goodwill');
    await new Promise((r) => setTimeout(r, 0));
    expect(s.calls()).toContain(
      `GET /api/v1/admin/audit-logs?action=node.disable&actor_user_id=${users[1]!.id}&target_type=node&target_id=n-1`,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await screen.findByText('Page 2');
    expect(s.calls().at(-1)).toContain('cursor=next');
    // The page is in the URL, so a reload shows it again.
    expect(s.router.state.location.search).toContain('cursor=next');
  });

  it('sends the category and finds a force release by its name on the page', async () => {
    const s = renderAdmin('/admin/audit-logs', '/admin/audit-logs?category=allocation&q=force', AuditLogsPage, (r) =>
      r.url.pathname === '/api/v1/admin/audit-logs'
        ? json(200, {
            items: [
              { id: 1, occurred_at: '2026-01-01T00:00:00Z', actor_user_id: null, action: 'allocation.transition', target_type: 'allocation', target_id: 'a1', metadata: { status_from: 'active', status_to: 'releasing', reason: 'admin: abuse' }, correlation_id: '', client_ip: '' },
              { id: 2, occurred_at: '2026-01-01T00:00:00Z', actor_user_id: null, action: 'allocation.transition', target_type: 'allocation', target_id: 'a2', metadata: { status_from: 'requested', status_to: 'active' }, correlation_id: '', client_ip: '' },
            ],
            next_cursor: '',
          })
        : undefined,
    );
    const table = await screen.findByRole('table', { name: 'Audit log entries' });
    expect(within(table).getByText('Force release')).toBeTruthy();
    expect(within(table).queryByText('Allocation became active')).toBeNull();
    expect(screen.getByTestId('audit-count').textContent).toBe('1 of 2 on this page match');
    expect(s.calls().some((c) => c.startsWith('GET /api/v1/admin/audit-logs?category=allocation'))).toBe(true);
  });

  it('sends an action ending in a dot or a star as a prefix', () => {
    const base = { category: '', q: '', actor_user_id: '', target_type: '', target_id: '', since: '', until: '' };
    expect(auditQuery({ ...base, action: 'allocation.' })).toMatchObject({ action_prefix: 'allocation.', action: undefined });
    expect(auditQuery({ ...base, action: 'allocation.force*' })).toMatchObject({ action_prefix: 'allocation.force' });
    expect(auditQuery({ ...base, action: 'billing.adjustment' })).toMatchObject({ action: 'billing.adjustment' });
  });

  it('builds the API query from the filters', () => {
    expect(
      auditQuery({
        category: '',
        q: '',
        action: ' node.create ',
        actor_user_id: '',
        target_type: 'node',
        target_id: '',
        since: '2026-01-01T00:00:00Z',
        until: '',
      }),
    ).toEqual({
      action: 'node.create',
      actor_user_id: undefined,
      target_type: 'node',
      target_id: undefined,
      since: '2026-01-01T00:00:00Z',
      until: undefined,
    });
  });
});
