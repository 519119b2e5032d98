import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api/errors';
import { FakeWebSocket } from './testing';
import { TerminalSession, terminalUrl, type TerminalStatus } from './terminalSession';

function setup(mint: () => Promise<string> = async () => 'gpt_token') {
  const statuses: TerminalStatus[] = [];
  const output: Uint8Array[] = [];
  const sockets: FakeWebSocket[] = [];
  const session = new TerminalSession({
    allocationId: 'alloc-1',
    mintToken: mint,
    onOutput: (b) => output.push(b),
    onStatus: (s) => statuses.push(s),
    location: { protocol: 'https:', host: 'console.example' },
    createSocket: (url, protocols) => {
      const s = new FakeWebSocket(url, protocols);
      sockets.push(s);
      return s as unknown as WebSocket;
    },
  });
  return { session, statuses, output, sockets, phase: () => statuses.at(-1)?.phase };
}

describe('terminalUrl', () => {
  it('uses wss on https and carries the size, never the token', () => {
    expect(terminalUrl({ protocol: 'https:', host: 'h:1' }, 'a b', 100, 30)).toBe('wss://h:1/ws/terminal/a%20b?cols=100&rows=30');
    expect(terminalUrl({ protocol: 'http:', host: 'h' }, 'x', 80, 24)).toBe('ws://h/ws/terminal/x?cols=80&rows=24');
  });
});

describe('TerminalSession', () => {
  it('mints a token, sends it as the second subprotocol, and goes ready on session_ready', async () => {
    const t = setup();
    await t.session.open(120, 40);
    expect(t.phase()).toBe('connecting');
    const ws = t.sockets[0]!;
    expect(ws.protocols).toEqual(['bearer', 'gpt_token']);
    expect(ws.url).toBe('wss://console.example/ws/terminal/alloc-1?cols=120&rows=40');
    expect(ws.url).not.toContain('gpt_token');
    expect(ws.binaryType).toBe('arraybuffer');
    ws.open();
    ws.push({ type: 'session_ready' });
    expect(t.phase()).toBe('ready');
  });

  it('sends keystrokes as binary UTF-8 and resizes as a text control frame', async () => {
    const t = setup();
    await t.session.open(80, 24);
    const ws = t.sockets[0]!;
    t.session.send('ignored before ready');
    ws.open();
    ws.push({ type: 'session_ready' });
    t.session.send('é\r');
    t.session.resize(100, 30);
    expect(ArrayBuffer.isView(ws.sent[0])).toBe(true);
    expect(Array.from(ws.sent[0] as Uint8Array)).toEqual([0xc3, 0xa9, 0x0d]);
    expect(JSON.parse(ws.sent[1] as string)).toEqual({ type: 'resize', cols: 100, rows: 30 });
    expect(ws.sent).toHaveLength(2);
  });

  it('writes binary frames to the terminal', async () => {
    const t = setup();
    await t.session.open(80, 24);
    const ws = t.sockets[0]!;
    ws.open();
    ws.push(new Uint8Array([104, 105]).buffer);
    expect(Array.from(t.output[0]!)).toEqual([104, 105]);
  });

  it('reports session_closed with the exit code and session_error with code and message', async () => {
    const t = setup();
    await t.session.open(80, 24);
    let ws = t.sockets[0]!;
    ws.open();
    ws.push({ type: 'session_ready' });
    ws.push({ type: 'session_closed', exit_code: 3 });
    ws.close();
    expect(t.statuses.at(-1)).toEqual({ phase: 'closed', exitCode: 3, reason: 'The shell exited.' });

    await t.session.open(80, 24);
    ws = t.sockets[1]!;
    ws.open();
    ws.push({ type: 'session_error', code: 'idle_timeout', message: 'idle for 15m' });
    ws.close();
    const last = t.statuses.at(-1);
    expect(last).toMatchObject({ phase: 'error', code: 'idle_timeout', detail: 'idle for 15m' });
  });

  it('says the connection failed when the socket closes before session_ready', async () => {
    const t = setup();
    await t.session.open(80, 24);
    t.sockets[0]!.close();
    expect(t.statuses.at(-1)).toMatchObject({ phase: 'error', code: 'connect_failed' });
  });

  it('says the connection was lost when an open session drops', async () => {
    const t = setup();
    await t.session.open(80, 24);
    const ws = t.sockets[0]!;
    ws.open();
    ws.push({ type: 'session_ready' });
    ws.close();
    expect(t.statuses.at(-1)).toMatchObject({ phase: 'closed', exitCode: null, reason: 'The connection was lost.' });
  });

  it('shows a mint failure with its code and correlation id', async () => {
    const t = setup(async () => {
      throw new ApiError({ status: 409, code: 'invalid_state', message: 'not active', correlationId: 'c9' });
    });
    await t.session.open(80, 24);
    expect(t.statuses.at(-1)).toMatchObject({ phase: 'error', code: 'invalid_state', correlationId: 'c9' });
    expect(t.sockets).toHaveLength(0);
  });

  it('reconnects with a fresh token and ignores the old socket', async () => {
    const mint = vi.fn().mockResolvedValueOnce('t1').mockResolvedValueOnce('t2');
    const t = setup(mint);
    await t.session.open(80, 24);
    const first = t.sockets[0]!;
    first.open();
    first.push({ type: 'session_ready' });
    await t.session.open(80, 24);
    expect(first.readyState).toBe(3);
    const second = t.sockets[1]!;
    expect(second.protocols).toEqual(['bearer', 't2']);
    first.push({ type: 'session_error', code: 'x', message: 'stale' });
    expect(t.phase()).toBe('connecting');
  });

  it('close hangs up and says why', async () => {
    const t = setup();
    await t.session.open(80, 24);
    const ws = t.sockets[0]!;
    ws.open();
    ws.push({ type: 'session_ready' });
    t.session.close('The allocation is no longer active.');
    expect(ws.readyState).toBe(3);
    expect(t.statuses.at(-1)).toEqual({ phase: 'closed', exitCode: null, reason: 'The allocation is no longer active.' });
  });
});
