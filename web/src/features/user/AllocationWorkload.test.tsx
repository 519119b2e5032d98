import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AllocationDetailPage } from '../../pages/allocations/AllocationDetailPage';
import { allocation, json, renderPage, type Handlers } from './testing';

vi.mock('./TerminalPanel', () => ({ TerminalPanel: () => <div data-testid="terminal-panel" /> }));

afterEach(() => {
  vi.restoreAllMocks();
});

const ID = 'bbbb0000-0000-4000-8000-000000000002';

const jupyter = {
  launchable: 'jupyter',
  runtime: 'docker',
  image: 'quay.io/jupyter/pytorch-notebook:cuda12-latest-with-a-very-long-tag-that-must-wrap-on-a-phone',
  ports: [{ name: 'lab', port: 8888, protocol: 'http' }],
};

const ev = (id: number, kind: string, over: Record<string, unknown> = {}) => ({
  id,
  kind,
  message: `${kind} message`,
  created_at: new Date(Date.now() - (100 - id) * 60_000).toISOString(),
  ...over,
});

function textStream() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      ctrl = c;
    },
  });
  const enc = new TextEncoder();
  return {
    response: () => new Response(stream, { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }),
    push: (b: string | Uint8Array) => ctrl.enqueue(typeof b === 'string' ? enc.encode(b) : b),
    close: () => ctrl.close(),
  };
}

function render(a: Record<string, unknown>, handlers: Handlers = {}) {
  return renderPage(<AllocationDetailPage />, {
    path: '/allocations/:id',
    url: `/allocations/${ID}`,
    handlers: {
      [`GET /api/v1/allocations/${ID}`]: () => json(200, a),
      'GET /api/v1/billing/usage': () => json(200, { items: [], next_cursor: '' }),
      'GET /api/v1/launchables': () =>
        json(200, {
          items: [{ id: 'jupyter', name: 'Jupyter', description: '', runtime: 'docker', image: '', ports: [], params: [] }],
        }),
      [`GET /api/v1/allocations/${ID}/events`]: () => json(200, { items: [], next_cursor: '' }),
      [`GET /api/v1/allocations/${ID}/logs`]: () => new Response('', { status: 200 }),
      ...handlers,
    },
  });
}

describe('the allocation page’s app', () => {
  it('shows the workload and the image pull as a progress bar with bytes and percentage', async () => {
    render(allocation(ID, { status: 'provisioning', active_at: null, workload: jupyter, apps: [{ name: 'lab', port: 8888, url: `/apps/${ID}/lab/`, ready: false }] }), {
      [`GET /api/v1/allocations/${ID}/events`]: () =>
        json(200, {
          items: [ev(1, 'requested'), ev(2, 'pulling', { bytes_done: 1024 ** 3, bytes_total: 3 * 1024 ** 3 })],
          next_cursor: '',
        }),
    });
    const summary = await screen.findByTestId('workload-summary');
    await waitFor(() => expect(summary.textContent).toContain('Jupyter'));
    expect(summary.textContent).toContain(jupyter.image);
    const bar = await screen.findByRole('progressbar', { name: 'Pulling the image' });
    expect(bar.getAttribute('aria-valuenow')).toBe('33');
    expect(screen.getByTestId('pull-figures').textContent).toBe('1 GB of 3 GB (33%)');
    // Not active yet: the app is listed, but cannot be opened.
    const row = screen.getByTestId('app-lab');
    expect(row.textContent).toContain('not running');
    expect(within(row).getByRole('button', { name: 'Open lab' })).toHaveProperty('disabled', true);
  });

  it('opens an app through a one-time ticket in a new tab', async () => {
    const { calls } = render(allocation(ID, { workload: jupyter, apps: [{ name: 'lab', port: 8888, url: `/apps/${ID}/lab/`, ready: true }] }), {
      [`POST /api/v1/allocations/${ID}/apps/lab/ticket`]: () =>
        json(201, { url: '/api/v1/apps/ticket?t=abc', expires_at: '2030-01-01T00:00:00Z' }),
    });
    const tab = { opener: {} as unknown, location: { href: 'about:blank' }, close: vi.fn() };
    const open = vi.spyOn(window, 'open').mockReturnValue(tab as unknown as Window);
    const row = await screen.findByTestId('app-lab');
    expect(row.textContent).toContain('ready');
    // No ssh connection for a container: the CLI reaches it through the control plane.
    expect(screen.getByTestId('connection-container').textContent).toContain(`gpuaas ssh ${ID}`);
    fireEvent.click(within(row).getByRole('button', { name: 'Open lab' }));
    await waitFor(() => expect(tab.location.href).toBe('/api/v1/apps/ticket?t=abc'));
    expect(open).toHaveBeenCalledTimes(1);
    expect(tab.opener).toBeNull();
    expect(calls.filter((c) => c.method === 'POST' && c.url.endsWith('/apps/lab/ticket'))).toHaveLength(1);
  });

  it('opens the ticket URL directly when the blank tab was blocked, and shows a refused ticket', async () => {
    let refuse = false;
    render(allocation(ID, { workload: jupyter, apps: [{ name: 'lab', port: 8888, url: `/apps/${ID}/lab/`, ready: true }] }), {
      [`POST /api/v1/allocations/${ID}/apps/lab/ticket`]: () =>
        refuse
          ? json(409, { code: 'invalid_state', message: 'allocation is releasing', correlation_id: 'c-409' })
          : json(201, { url: '/api/v1/apps/ticket?t=xyz', expires_at: '2030-01-01T00:00:00Z' }),
    });
    const open = vi.spyOn(window, 'open').mockReturnValue(null);
    const button = await screen.findByRole('button', { name: 'Open lab' });
    fireEvent.click(button);
    await waitFor(() => expect(open).toHaveBeenLastCalledWith('/api/v1/apps/ticket?t=xyz', '_blank', 'noopener'));
    refuse = true;
    const tab = { opener: null, location: { href: 'about:blank' }, close: vi.fn() };
    open.mockReturnValue(tab as unknown as Window);
    fireEvent.click(button);
    const alert = await within(screen.getByTestId('app-lab')).findByRole('alert');
    expect(alert.textContent).toBe('The app opens only while the allocation is active.');
    expect(tab.close).toHaveBeenCalled();
    expect(tab.location.href).toBe('about:blank');
  });

  it('follows the logs, joining lines split across chunks (and a character split across bytes)', async () => {
    const s = textStream();
    const { calls } = render(allocation(ID, { workload: jupyter, apps: [] }), {
      [`GET /api/v1/allocations/${ID}/logs`]: () => s.response(),
    });
    await waitFor(() => expect(calls.some((c) => c.url.includes('/logs?'))).toBe(true));
    const logsCall = calls.find((c) => c.url.includes('/logs?'))!;
    expect(logsCall.url).toContain('follow=true');
    expect(logsCall.headers.Authorization).toBe('Bearer tok');
    // Connected with nothing written yet: following, and it says so.
    await waitFor(() => expect(screen.getByTestId('logs-status').textContent).toContain('Following live'));
    expect(screen.getByText('No output yet.')).toBeTruthy();
    expect(screen.getByTestId('status-banner').textContent).toContain('Open its apps or read its logs below.');
    const euro = new TextEncoder().encode('€'); // 3 bytes
    await act(async () => {
      s.push('[I 12:00] Jupyter Server st');
      s.push('arted\nprice: ');
      s.push(euro.slice(0, 1));
      s.push(euro.slice(1));
      s.push('5\n');
    });
    const box = await screen.findByTestId('log-box');
    await waitFor(() => expect(box.textContent).toBe('[I 12:00] Jupyter Server started\nprice: €5'));
    expect(screen.getByTestId('logs-status').textContent).toContain('Following live');

    // Paused, the view stands still and counts what waits; resumed, it shows it.
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    await act(async () => {
      s.push('one\ntwo\n');
    });
    await waitFor(() => expect(screen.getByTestId('logs-status').textContent).toContain('2 new lines waiting'));
    expect(box.textContent).not.toContain('one');
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(screen.getByTestId('log-box').textContent).toContain('one\ntwo'));

    await act(async () => {
      s.push('bye');
      s.close();
    });
    await waitFor(() => expect(screen.getByTestId('logs-status').textContent).toContain('log stream ended'));
    expect(screen.getByTestId('log-box').textContent?.endsWith('two\nbye')).toBe(true);
    expect(screen.getByRole('button', { name: 'Reconnect' })).toBeTruthy();
  });

  it('says why there are no logs: 503 node unreachable', async () => {
    render(allocation(ID, { workload: jupyter, apps: [] }), {
      [`GET /api/v1/allocations/${ID}/logs`]: () =>
        json(503, { code: 'agent_disconnected', message: 'agent is not connected', correlation_id: 'c-503' }),
    });
    const err = await screen.findByTestId('logs-error');
    expect(err.textContent).toContain('The node cannot be reached right now');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('says a 409 is a shell with no logs, and a shell has only the events', async () => {
    const { LogsPanel } = await import('./AllocationWorkload');
    renderPage(<LogsPanel a={allocation(ID, { workload: { launchable: 'shell', runtime: 'process' } }) as never} />, {
      path: '/x',
      handlers: {
        [`GET /api/v1/allocations/${ID}/logs`]: () =>
          json(409, { code: 'invalid_state', message: 'a shell allocation has no logs', correlation_id: 'c-409' }),
      },
    });
    expect((await screen.findByTestId('logs-error')).textContent).toContain('A shell allocation has no logs');
  });

  it('lists the events oldest first with relative and absolute times', async () => {
    render(allocation(ID, { workload: { launchable: 'shell', runtime: 'process' }, apps: [] }), {
      [`GET /api/v1/allocations/${ID}/events`]: () =>
        json(200, {
          items: [
            ev(1, 'requested'),
            ev(2, 'pulling', { bytes_done: 1, bytes_total: 10 }),
            ev(3, 'pulling', { bytes_done: 5, bytes_total: 10 }),
            ev(4, 'pulled'),
            ev(5, 'created'),
            ev(90, 'exited', { exit_code: 137 }),
          ],
          next_cursor: '',
        }),
    });
    const list = await screen.findByTestId('events');
    const items = within(list).getAllByRole('listitem');
    expect(items.map((i) => i.dataset.kind)).toEqual(['requested', 'pulling', 'pulled', 'created', 'exited']);
    expect(items[1]!.textContent).toContain('5 B of 10 B · the latest of 2 progress updates');
    items.splice(1, 2);
    expect(items[2]!.textContent).toContain('exit code 137');
    expect(items[2]!.textContent).toContain('10 min. ago');
    expect(items[2]!.querySelector('time')!.getAttribute('dateTime')).toBeTruthy();
    // A shell has no logs tab and no app card.
    expect(screen.queryByRole('tab', { name: 'Logs' })).toBeNull();
    expect(screen.queryByTestId('workload-summary')).toBeNull();
  });

  it('follows next_cursor so the latest events (and the pull in progress) are not on a page it never read', async () => {
    const { calls } = render(allocation(ID, { status: 'provisioning', active_at: null, workload: jupyter }), {
      [`GET /api/v1/allocations/${ID}/events`]: (c) =>
        c.url.includes('cursor=p2')
          ? json(200, { items: [ev(3, 'pulling', { bytes_done: 3, bytes_total: 4 })], next_cursor: '' })
          : json(200, { items: [ev(1, 'requested'), ev(2, 'pulling', { bytes_done: 1, bytes_total: 4 })], next_cursor: 'p2' }),
    });
    const bar = await screen.findByRole('progressbar');
    await waitFor(() => expect(bar.getAttribute('aria-valuenow')).toBe('75'));
    expect(calls.filter((c) => c.url.includes('/events?')).map((c) => c.url.includes('cursor=p2'))).toContain(true);
  });
});
