// Test harness for the admin screens: renders one page at a URL inside the
// providers it needs, with a signed-in session and a fake server.
//
//   const server = renderAdmin('/admin/users', '/admin/users', UsersPage, (req) => json(200, {...}));
//   expect(server.calls).toContain('GET /api/v1/admin/users');
import { render } from '@testing-library/react';
import type { ComponentType } from 'react';
import { RouterProvider, createMemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { setFetch } from '../../api/client';
import { setTokens } from '../../api/session';
import { QueryClientProvider } from '@tanstack/react-query';
import { createQueryClient } from '../../api/query';
import { AnnouncerProvider } from '../../components/Announcer';
import { ToastProvider } from '../../components/Toast';

export interface FakeRequest {
  method: string;
  url: URL;
  body: unknown;
  headers: Record<string, string>;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

export function renderAdmin(
  pattern: string,
  url: string,
  Page: ComponentType,
  handler: (req: FakeRequest) => Response | undefined,
) {
  const requests: FakeRequest[] = [];
  const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const u = new URL(String(input), 'http://console.test');
    const req: FakeRequest = {
      method: (init?.method ?? 'GET').toUpperCase(),
      url: u,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    requests.push(req);
    if (u.pathname === '/api/v1/billing/balance') {
      return json(200, {
        user_id: 'admin',
        balance_minor: 0,
        currency: 'USD',
        unbilled_minor: 0,
        burn_rate_per_hour_minor: 0,
        runway_seconds: null,
      });
    }
    return handler(req) ?? json(404, { code: 'not_found', message: `no fake for ${req.method} ${u.pathname}` });
  });
  setFetch(f as unknown as typeof fetch);
  setTokens({ access_token: 'test-token', expires_in: 900 });
  const router = createMemoryRouter(
    [
      { path: pattern, element: <Page /> },
      { path: '*', element: <p>elsewhere</p> },
    ],
    { initialEntries: [url] },
  );
  render(
    <QueryClientProvider client={createQueryClient({ retries: 0 })}>
      <AnnouncerProvider>
        <ToastProvider>
          <RouterProvider router={router} />
        </ToastProvider>
      </AnnouncerProvider>
    </QueryClientProvider>,
  );
  return {
    requests,
    router,
    /** "GET /api/v1/admin/users?cursor=…" for each request so far (balance reads left out). */
    calls: () =>
      requests
        .filter((r) => r.url.pathname !== '/api/v1/billing/balance')
        .map((r) => `${r.method} ${r.url.pathname}${r.url.search}`),
  };
}

export const users = [
  { id: '11111111-1111-4111-8111-111111111111', username: 'demo', email: 'demo@example.com', role: 'user', created_at: '2026-01-02T00:00:00Z' },
  { id: '22222222-2222-4222-8222-222222222222', username: 'admin', email: 'admin@example.com', role: 'admin', created_at: '2026-01-01T00:00:00Z' },
  { id: '33333333-3333-4333-8333-333333333333', username: 'carol', email: 'carol@lab.example', role: 'user', created_at: '2026-01-03T00:00:00Z' },
];

export function gpu(index: number, allocated = false, health = 'healthy') {
  return { index, uuid: `GPU-${index}`, model: 'NVIDIA H100 80GB HBM3', memory_mib: 81920, health, health_reason: health === 'healthy' ? '' : 'XID 79', allocated };
}

export function node(hostname: string, over: Record<string, unknown> = {}) {
  return {
    id: `${hostname}-0000-4000-8000-000000000000`,
    hostname,
    region: 'local-1',
    labels: {},
    status: 'online',
    admin_state: 'active',
    last_heartbeat_at: new Date().toISOString(),
    agent_version: 'v1.2.3',
    agent_version_drift: false,
    gpus: [gpu(0), gpu(1)],
    created_at: '2026-01-01T00:00:00Z',
    ...over,
  };
}
