import { act, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, renderAdmin } from '../../features/admin/testing';
import { OVERVIEW_REFRESH_MS, OverviewPage } from './OverviewPage';

const overview = {
  users: 7,
  nodes: { online: 3, offline: 1, active: 3, disabled: 1, maintenance: 0 },
  gpus: { free: 12, allocated: 4, unhealthy: 1 },
  allocations: { active: 4, released: 9, failed: 1 },
  revenue_24h: [{ currency: 'USD', amount_minor: 123456 }],
};

afterEach(() => vi.useRealTimers());

describe('OverviewPage', () => {
  it('shows the counts and refreshes every 10 s until paused', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const s = renderAdmin('/admin/overview', '/admin/overview', OverviewPage, (r) =>
      r.url.pathname === '/api/v1/admin/overview' ? json(200, overview) : undefined,
    );
    await screen.findByText('USD 1,234.56');
    expect(screen.getByText('7')).toBeTruthy();
    expect(screen.getByText('25% in use · 12 free')).toBeTruthy();
    expect(screen.getByText('1 offline · 1 disabled')).toBeTruthy();
    expect(screen.getByTestId('last-updated').textContent).toMatch(/^Updated .* · every 10 s$/);
    const count = () => s.calls().filter((c) => c === 'GET /api/v1/admin/overview').length;
    expect(count()).toBe(1);

    await act(async () => {
      await vi.advanceTimersByTimeAsync(OVERVIEW_REFRESH_MS + 50);
    });
    expect(count()).toBe(2);

    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(screen.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe('true');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(OVERVIEW_REFRESH_MS * 3);
    });
    expect(count()).toBe(2);
    expect(screen.getByTestId('last-updated').textContent).toContain('paused');
  });

  it('keeps the page header on an error and shows the correlation id', async () => {
    renderAdmin('/admin/overview', '/admin/overview', OverviewPage, () =>
      json(503, { code: 'unavailable', message: 'database down', correlation_id: 'cid-ov' }),
    );
    expect(await screen.findByText('cid-ov')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
  });
});
