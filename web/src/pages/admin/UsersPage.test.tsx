import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin, users } from '../../features/admin/testing';
import { UsersPage, fieldOfError } from './UsersPage';
import { ApiError } from '../../api/errors';

/** A fake of the API's filters: role exact, q a case-insensitive substring of username or email. */
function filtered(url: URL) {
  const q = (url.searchParams.get('q') ?? '').toLowerCase();
  const role = url.searchParams.get('role');
  return users.filter(
    (u) => (!role || u.role === role) && (!q || u.username.includes(q) || u.email.toLowerCase().includes(q)),
  );
}

describe('UsersPage', () => {
  it('sends the role and the search from the URL to the API, and counts', async () => {
    const s = renderAdmin('/admin/users', '/admin/users?role=user', UsersPage, (r) =>
      r.url.pathname === '/api/v1/admin/users' ? json(200, { items: filtered(r.url), next_cursor: '' }) : undefined,
    );
    await screen.findByRole('row', { name: 'Open user demo' });
    expect(s.calls()).toEqual(['GET /api/v1/admin/users?role=user']);
    expect(screen.queryByRole('row', { name: 'Open user admin' })).toBeNull();
    expect(screen.getByText('Showing 2 matching users')).toBeTruthy();
    expect((screen.getByLabelText('Role') as HTMLSelectElement).value).toBe('user');
    // Typing asks the API once the typing pauses, with the text trimmed.
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: ' lab.exam' } });
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: ' lab.example ' } });
    await waitFor(() => expect(screen.queryByRole('row', { name: 'Open user demo' })).toBeNull());
    expect(screen.getByRole('row', { name: 'Open user carol' })).toBeTruthy();
    expect(s.calls()).toEqual(['GET /api/v1/admin/users?role=user', 'GET /api/v1/admin/users?q=lab.example&role=user']);
  });

  it('says when nothing matches and clears the filters', async () => {
    const s = renderAdmin('/admin/users', '/admin/users?q=nobody&role=admin', UsersPage, (r) =>
      r.url.pathname === '/api/v1/admin/users' ? json(200, { items: filtered(r.url), next_cursor: '' }) : undefined,
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Clear filters' }));
    await screen.findByRole('row', { name: 'Open user admin' });
    expect(s.calls().at(-1)).toBe('GET /api/v1/admin/users');
    expect((screen.getByLabelText('Search') as HTMLInputElement).value).toBe('');
  });

  it('starts again at the first page when the filter changes', async () => {
    const s = renderAdmin('/admin/users', '/admin/users', UsersPage, (r) => {
      if (r.url.pathname !== '/api/v1/admin/users') return undefined;
      const items = filtered(r.url);
      return r.url.searchParams.get('cursor') === 'c2'
        ? json(200, { items: items.slice(2), next_cursor: '' })
        : json(200, { items: items.slice(0, 2), next_cursor: items.length > 2 ? 'c2' : '' });
    });
    await screen.findByRole('row', { name: 'Open user demo' });
    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await screen.findByText('Page 2');
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'admin' } });
    await screen.findByRole('row', { name: 'Open user admin' });
    await waitFor(() => expect(s.calls().at(-1)).toBe('GET /api/v1/admin/users?role=admin'));
    expect(screen.queryByText('Page 2')).toBeNull();
  });

  it('pages with the cursor', async () => {
    const s = renderAdmin('/admin/users', '/admin/users', UsersPage, (r) => {
      if (r.url.pathname !== '/api/v1/admin/users') return undefined;
      return r.url.searchParams.get('cursor') === 'c2'
        ? json(200, { items: [users[2]], next_cursor: '' })
        : json(200, { items: users.slice(0, 2), next_cursor: 'c2' });
    });
    await screen.findByRole('row', { name: 'Open user demo' });
    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await screen.findByRole('row', { name: 'Open user carol' });
    expect(s.calls()).toContain('GET /api/v1/admin/users?cursor=c2');
    expect(screen.getByText('Page 2')).toBeTruthy();
  });

  it('creates a user and shows an API error next to its field with the correlation id', async () => {
    const s = renderAdmin('/admin/users', '/admin/users', UsersPage, (r) => {
      if (r.method === 'POST') {
        return json(409, { code: 'username_taken', message: 'username is taken', correlation_id: 'cid-42' });
      }
      return json(200, { items: users, next_cursor: '' });
    });
    await screen.findByRole('row', { name: 'Open user demo' });
    fireEvent.click(screen.getByRole('button', { name: 'New user' }));
    const dialog = screen.getByRole('dialog', { name: 'New user' });
    fireEvent.change(within(dialog).getByLabelText('Username'), { target: { value: 'demo' } });
    fireEvent.change(within(dialog).getByLabelText('Email'), { target: { value: 'x@example.com' } });
    fireEvent.change(within(dialog).getByLabelText('Password'), { target: { value: 'correct horse battery' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create user' }));
    await within(dialog).findByText('That username is taken. (username is taken)');
    expect(within(dialog).getByText('cid-42')).toBeTruthy();
    expect(within(dialog).getByLabelText('Username').getAttribute('aria-invalid')).toBe('true');
    const post = s.requests.find((r) => r.method === 'POST');
    expect(post?.body).toEqual({ username: 'demo', email: 'x@example.com', password: 'correct horse battery', role: 'user' });
  });

  it('maps error codes to fields', () => {
    const err = (code: string, message = '') => new ApiError({ status: 400, code, message });
    expect(fieldOfError(err('email_taken'))).toBe('email');
    expect(fieldOfError(err('weak_password'))).toBe('password');
    expect(fieldOfError(err('invalid_request', 'email must look like an address'))).toBe('email');
    expect(fieldOfError(err('internal'))).toBeNull();
  });
});
