// Test harness for the user screens: renders a page inside the real
// providers (auth, notifications, balance, toasts, live region) and a memory
// router, with fetch answered by a route table and WebSocket replaced by a
// fake the test can push messages through. Only imported by *.test.tsx.
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { RouterProvider, createMemoryRouter, type RouteObject } from 'react-router';
import { vi } from 'vitest';
import { setFetch } from '../../api/client';
import { clearSession } from '../../api/session';
import { AuthProvider, useAuth } from '../../app/auth';
import { CacheKeeper } from '../../app/cache';
import { QueryClientProvider } from '@tanstack/react-query';
import { createQueryClient } from '../../api/query';
import { NotificationsProvider } from '../../app/notifications';
import { AnnouncerProvider } from '../../components/Announcer';
import { ToastProvider } from '../../components/Toast';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Request-ID': 'req-test', ...headers },
  });
}

export const demoUser = {
  id: '00000000-0000-4000-8000-000000000001',
  username: 'demo',
  email: 'demo@example.com',
  role: 'user',
  created_at: '2025-01-02T03:04:05Z',
};

export const usdBalance = {
  user_id: demoUser.id,
  balance_minor: 10_000,
  currency: 'USD',
  unbilled_minor: 0,
  burn_rate_per_hour_minor: 0,
  runway_seconds: null,
};

export interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A route table: "GET /api/v1/skus" → handler. The first key that prefixes "METHOD path?query" wins. */
export type Handlers = Record<string, (call: Call) => Response | Promise<Response>>;

export class FakeWebSocket {
  static all: FakeWebSocket[] = [];
  static last(pathPart: string): FakeWebSocket | undefined {
    return [...FakeWebSocket.all].reverse().find((s) => s.url.includes(pathPart));
  }
  readyState = 0;
  binaryType = 'blob';
  sent: unknown[] = [];
  onopen: ((ev?: unknown) => void) | null = null;
  onclose: ((ev?: unknown) => void) | null = null;
  onerror: ((ev?: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(
    public url: string,
    public protocols: string[] = [],
  ) {
    FakeWebSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(data: unknown) {
    this.onmessage?.({ data: typeof data === 'string' || data instanceof ArrayBuffer ? data : JSON.stringify(data) });
  }
  send(data: unknown) {
    this.sent.push(data);
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code: 1000 });
  }
}

export function renderPage(
  element: ReactNode,
  {
    path,
    url = path,
    handlers,
    extraRoutes = [],
    user = demoUser,
  }: { path: string; url?: string; handlers: Handlers; extraRoutes?: RouteObject[]; user?: typeof demoUser },
) {
  clearSession();
  FakeWebSocket.all = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  const calls: Call[] = [];
  const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const u = String(input);
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = typeof init?.body === 'string' && init.body ? JSON.parse(init.body) : undefined;
    const call = { method, url: u, headers, body };
    calls.push(call);
    if (u.endsWith('/api/v1/auth/token/refresh')) {
      return json(200, { access_token: 'tok', refresh_token: '', token_type: 'Bearer', expires_in: 900 });
    }
    if (u === '/api/v1/users/me') return json(200, user);
    const key = `${method} ${u}`;
    const match = Object.keys(handlers)
      .filter((k) => key.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    if (match) return handlers[match]!(call);
    if (u.startsWith('/api/v1/billing/balance')) return json(200, usdBalance);
    return json(404, { code: 'not_found', message: `no handler for ${key}`, correlation_id: 'test-404' });
  });
  setFetch(f as unknown as typeof fetch);
  vi.stubGlobal('fetch', f);
  const router = createMemoryRouter(
    [
      { path, element },
      ...extraRoutes,
    ],
    { initialEntries: [url] },
  );
  const queryClient = createQueryClient({ retries: 0 });
  const utils = render(
    <QueryClientProvider client={queryClient}>
      <AnnouncerProvider>
        <ToastProvider>
          <AuthProvider>
            <NotificationsProvider>
              <CacheKeeper />
              <Gate>
                <RouterProvider router={router} />
              </Gate>
            </NotificationsProvider>
          </AuthProvider>
        </ToastProvider>
      </AnnouncerProvider>
    </QueryClientProvider>,
  );
  return { ...utils, calls, router, fetch: f, queryClient };
}

/** Renders the page only once the fake session has started, as RequireAuth does. */
function Gate({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  return status === 'signed-in' ? <>{children}</> : <p>starting</p>;
}

/** An allocation as the API returns it, active on a node with one GPU. */
export const allocation = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  user_id: 'u',
  name: '',
  status: 'active',
  desired_state: 'active',
  sku_id: 'h100-80gb-x1',
  node_id: 'aa11bb22-0000-4000-8000-000000000009',
  gpus: [{ index: 0, uuid: 'GPU-1111' }],
  gpu_count: 1,
  price_per_hour_minor: 249,
  currency: 'USD',
  failure_reason: '',
  release_reason: '',
  attempts: 0,
  last_error: '',
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
  active_at: '2025-01-01T00:00:05Z',
  released_at: null,
  ...over,
});
