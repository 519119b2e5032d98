// The browser side of /ws/terminal/{id} (docs/api.md, "Terminal"), without
// any UI: mint a single-use token, open the socket with the token as the
// second subprotocol entry (never in the URL), then binary frames carry the
// terminal's bytes both ways and text frames carry JSON control messages:
// session_ready / session_error {code, message} / session_closed {exit_code}
// from the server, resize {cols, rows} from us. TerminalPanel wires it to
// xterm; the tests drive it with a fake socket.
import { describeError, toApiError } from '../../api/errors';

export type TerminalStatus =
  | { phase: 'idle' }
  | { phase: 'connecting' }
  | { phase: 'ready' }
  | { phase: 'closed'; exitCode: number | null; reason: string }
  | { phase: 'error'; code: string; message: string; detail?: string; correlationId?: string | null };

export interface TerminalSessionOptions {
  allocationId: string;
  /** Mints a terminal token (POST …/terminal-token). */
  mintToken: () => Promise<string>;
  onOutput: (bytes: Uint8Array) => void;
  onStatus: (status: TerminalStatus) => void;
  createSocket?: (url: string, protocols: string[]) => WebSocket;
  location?: Pick<Location, 'protocol' | 'host'>;
}

export function terminalUrl(
  loc: Pick<Location, 'protocol' | 'host'>,
  allocationId: string,
  cols: number,
  rows: number,
): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/terminal/${encodeURIComponent(allocationId)}?cols=${cols}&rows=${rows}`;
}

const OPEN = 1;

/** What the server's session_error codes mean for the person at the keyboard. */
export function describeTerminalError(code: string, message: string): string {
  switch (code) {
    case 'node_unreachable':
      return 'The node cannot be reached from this server right now.';
    case 'agent_disconnected':
      return 'The node’s agent disconnected.';
    case 'start_failed':
      return 'The shell could not be started on the node.';
    case 'idle_timeout':
      return 'The terminal was closed after a long time without input or output.';
    case 'max_session':
      return 'The terminal reached its maximum session length.';
    case 'connect_failed':
      return 'The terminal could not connect. The allocation may no longer be active; reload and try again.';
    default:
      return message || 'The terminal session ended with an error.';
  }
}

export class TerminalSession {
  private readonly opts: TerminalSessionOptions;
  private socket: WebSocket | null = null;
  private generation = 0;
  private current: TerminalStatus = { phase: 'idle' };
  private readonly encoder = new TextEncoder();

  constructor(opts: TerminalSessionOptions) {
    this.opts = opts;
  }

  get status(): TerminalStatus {
    return this.current;
  }

  private set(s: TerminalStatus): void {
    this.current = s;
    this.opts.onStatus(s);
  }

  /** Mints a token and connects; a session already open is closed first (Reconnect). */
  async open(cols: number, rows: number): Promise<void> {
    this.dropSocket();
    const gen = ++this.generation;
    this.set({ phase: 'connecting' });
    let token: string;
    try {
      token = await this.opts.mintToken();
    } catch (err) {
      if (gen !== this.generation) return;
      const e = toApiError(err);
      this.set({
        phase: 'error',
        code: e.code,
        message: describeError(e),
        detail: e.message,
        correlationId: e.correlationId,
      });
      return;
    }
    if (gen !== this.generation) return;
    const create = this.opts.createSocket ?? ((url, protocols) => new WebSocket(url, protocols));
    const url = terminalUrl(this.opts.location ?? window.location, this.opts.allocationId, cols, rows);
    let socket: WebSocket;
    try {
      socket = create(url, ['bearer', token]);
    } catch (err) {
      this.set({ phase: 'error', code: 'connect_failed', message: describeTerminalError('connect_failed', String(err)) });
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    let ended = false;

    socket.onmessage = (ev: MessageEvent) => {
      if (gen !== this.generation) return;
      if (typeof ev.data === 'string') {
        let msg: { type?: string; code?: string; message?: string; exit_code?: number };
        try {
          msg = JSON.parse(ev.data) as typeof msg;
        } catch {
          return;
        }
        if (msg.type === 'session_ready') {
          this.set({ phase: 'ready' });
        } else if (msg.type === 'session_error') {
          ended = true;
          const code = msg.code ?? 'session_error';
          this.set({ phase: 'error', code, message: describeTerminalError(code, msg.message ?? ''), detail: msg.message });
        } else if (msg.type === 'session_closed') {
          ended = true;
          const exitCode = typeof msg.exit_code === 'number' ? msg.exit_code : null;
          this.set({ phase: 'closed', exitCode, reason: 'The shell exited.' });
        }
        return;
      }
      if (ev.data instanceof ArrayBuffer) this.opts.onOutput(new Uint8Array(ev.data));
      else if (ArrayBuffer.isView(ev.data)) this.opts.onOutput(new Uint8Array(ev.data.buffer));
    };
    socket.onclose = () => {
      if (gen !== this.generation) return;
      this.socket = null;
      if (ended) return;
      if (this.current.phase === 'connecting') {
        // The server refuses a bad token or a non-active allocation before the
        // upgrade; the browser only reports a closed socket.
        this.set({ phase: 'error', code: 'connect_failed', message: describeTerminalError('connect_failed', '') });
      } else {
        this.set({ phase: 'closed', exitCode: null, reason: 'The connection was lost.' });
      }
    };
    socket.onerror = () => {
      // onclose follows.
    };
  }

  /** Keystrokes from xterm (onData): UTF-8, as a binary frame. */
  send(data: string): void {
    if (this.current.phase !== 'ready' || this.socket?.readyState !== OPEN) return;
    this.socket.send(this.encoder.encode(data));
  }

  /** xterm's onBinary: a string of byte values 0–255 (some mouse reports). */
  sendBinary(data: string): void {
    if (this.current.phase !== 'ready' || this.socket?.readyState !== OPEN) return;
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    this.socket.send(bytes);
  }

  resize(cols: number, rows: number): void {
    if (this.socket?.readyState !== OPEN) return;
    this.socket.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  /** Hangs up; `reason` is what the panel says afterwards. */
  close(reason = 'You closed the terminal.'): void {
    const had = this.socket !== null || this.current.phase === 'connecting';
    this.generation++;
    this.dropSocket();
    if (had || this.current.phase === 'ready') this.set({ phase: 'closed', exitCode: null, reason });
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    if (!s) return;
    s.onmessage = null;
    s.onclose = null;
    s.onerror = null;
    if (s.readyState <= OPEN) s.close(1000, 'bye');
  }
}
