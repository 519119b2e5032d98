import { fireEvent, render, screen } from '@testing-library/react';
import { RouterProvider, createMemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { setFetch } from '../../api/client';
import { ResetPasswordPage } from './ResetPasswordPage';

function renderAt(url: string, answer: (body: unknown) => Response) {
  const calls: unknown[] = [];
  setFetch((async (_u: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body ?? '{}'));
    calls.push(body);
    return answer(body);
  }) as typeof fetch);
  const router = createMemoryRouter([{ path: '/reset-password', element: <ResetPasswordPage /> }], { initialEntries: [url] });
  render(<RouterProvider router={router} />);
  return calls;
}

const json = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

async function submit(pw: string) {
  fireEvent.change(await screen.findByLabelText('New password'), { target: { value: pw } });
  fireEvent.change(screen.getByLabelText('Repeat it'), { target: { value: pw } });
  fireEvent.click(screen.getByRole('button', { name: 'Set the new password' }));
}

describe('ResetPasswordPage', () => {
  it('sends the token with the new password and says it worked', async () => {
    const calls = renderAt('/reset-password?token=tok-1', () => json(204, undefined));
    await submit('a long new password');
    expect(await screen.findByText(/Your password is changed/)).toBeTruthy();
    expect(calls[0]).toEqual({ token: 'tok-1', new_password: 'a long new password' });
  });

  it('says a spent or expired link in words', async () => {
    renderAt('/reset-password?token=old', () =>
      json(410, { code: 'reset_link_expired', message: 'gone', correlation_id: 'r-1' }),
    );
    await submit('a long new password');
    expect(await screen.findByText(/This reset link has been used or has expired/)).toBeTruthy();
  });
});
