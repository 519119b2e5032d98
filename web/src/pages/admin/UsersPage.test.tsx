import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin, users } from '../../features/admin/testing';
import { UsersPage, fieldOfError } from './UsersPage';
import { ApiError } from '../../api/errors';

describe('UsersPage', () => {
  it('lists users, filters by role and search from the URL, and counts', async () => {
    renderAdmin('/admin/users', '/admin/users?role=user', UsersPage, (r) =>
      r.url.pathname === '/api/v1/admin/users' ? json(200, { items: users, next_cursor: '' }) : undefined,
    );
    await screen.findByRole('row', { name: 'Open user demo' });
    expect(screen.queryByRole('row', { name: 'Open user admin' })).toBeNull();
    expect(screen.getByText('Showing 2 of 3 users')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'lab.example' } });
    await waitFor(() => expect(screen.queryByRole('row', { name: 'Open user demo' })).toBeNull());
    expect(screen.getByRole('row', { name: 'Open user carol' })).toBeTruthy();
    expect((screen.getByLabelText('Role') as HTMLSelectElement).value).toBe('user');
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
