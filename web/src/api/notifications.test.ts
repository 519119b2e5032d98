import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotificationsClient, backoffDelay, notificationsUrl } from './notifications';

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(
    public url: string,
    public protocols: string[],
  ) {
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(data: string) {
    this.onmessage?.({ data });
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
}

afterEach(() => {
  vi.useRealTimers();
  FakeSocket.all = [];
});

function client(getToken: () => Promise<string | null> = async () => 'tok') {
  return new NotificationsClient({
    url: 'ws://h/ws/notifications',
    getToken,
    createSocket: (url, protocols) => new FakeSocket(url, protocols) as unknown as WebSocket,
    minDelay: 1000,
    maxDelay: 8000,
    random: () => 0.5,
    keep: 3,
  });
}

describe('NotificationsClient', () => {
  it('authenticates with the bearer subprotocol, de-duplicates and keeps the last N', async () => {
    const c = client();
    const seen: string[] = [];
    c.subscribe((n) => seen.push(n.id));
    c.start();
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    const s = FakeSocket.all[0]!;
    expect(s.protocols).toEqual(['bearer', 'tok']);
    s.open();
    expect(c.connectionState).toBe('open');
    for (const id of ['1', '2', '2', '3', '4']) {
      s.send(JSON.stringify({ type: 'allocation.status', id, allocation_id: 'a', status: 'active' }));
    }
    s.send('not json');
    s.send(JSON.stringify({ nope: true }));
    expect(seen).toEqual(['1', '2', '3', '4']);
    expect(c.messages.map((m) => m.id)).toEqual(['4', '3', '2']);
    c.stop();
  });

  it('reconnects with backoff and a fresh token, and stops when signed out', async () => {
    vi.useFakeTimers();
    const tokens = ['t1', 't2', null];
    const c = client(async () => tokens.shift() ?? null);
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.all[0]!.close(); // the server closes it (token expired)
    expect(c.connectionState).toBe('closed');
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.all[1]!.protocols).toEqual(['bearer', 't2']);
    FakeSocket.all[1]!.close();
    await vi.advanceTimersByTimeAsync(2000); // second attempt waits twice as long
    expect(FakeSocket.all).toHaveLength(2);
    expect(c.connectionState).toBe('idle'); // no token: stopped
  });

  it('computes capped exponential backoff with jitter', () => {
    expect(backoffDelay(0, 1000, 30000, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, 1000, 30000, () => 0.5)).toBe(8000);
    expect(backoffDelay(10, 1000, 30000, () => 0.5)).toBe(30000);
    expect(backoffDelay(0, 1000, 30000, () => 0)).toBe(750);
    expect(backoffDelay(0, 1000, 30000, () => 1)).toBe(1250);
  });

  it('derives ws: or wss: from the page', () => {
    expect(notificationsUrl({ protocol: 'https:', host: 'gpu.example' })).toBe('wss://gpu.example/ws/notifications');
    expect(notificationsUrl({ protocol: 'http:', host: 'localhost:5173' })).toBe('ws://localhost:5173/ws/notifications');
  });
});
