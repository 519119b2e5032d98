import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { allocation, json, renderPage } from '../../features/user/testing';
import { AllocationsPage } from './AllocationsPage';

describe('AllocationsPage', () => {
  it('filters by status on the server, searches locally and counts', async () => {
    const { calls } = renderPage(<AllocationsPage />, {
      path: '/allocations',
      handlers: {
        'GET /api/v1/allocations': (c) =>
          c.url.includes('status=released')
            ? json(200, { items: [allocation('cccc0000-0000-4000-8000-000000000003', { status: 'released' })], next_cursor: '' })
            : json(200, {
                items: [
                  allocation('aaaa0000-0000-4000-8000-000000000001', { name: 'llama' }),
                  allocation('bbbb0000-0000-4000-8000-000000000002', { sku_id: 'a100-80gb-x1' }),
                ],
                next_cursor: '',
              }),
      },
    });
    expect((await screen.findByTestId('showing')).textContent).toBe('Showing 2 of 2 allocations');
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'a100' } });
    expect(screen.getByTestId('showing').textContent).toBe('Showing 1 of 2 allocations');
    expect(screen.queryByText('llama')).toBeNull();
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'released' } });
    await waitFor(() => expect(screen.getByTestId('showing').textContent).toBe('Showing 1 of 1 allocation'));
    expect(calls.some((c) => c.url.includes('status=released'))).toBe(true);
  });

  it('offers the marketplace when there is nothing yet', async () => {
    renderPage(<AllocationsPage />, {
      path: '/allocations',
      handlers: { 'GET /api/v1/allocations': () => json(200, { items: [], next_cursor: '' }) },
    });
    expect(await screen.findByText('No allocations yet')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1, name: 'Allocations' })).toBeTruthy();
  });
});
