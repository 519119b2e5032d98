// The live notifications websocket (/ws/notifications, docs/api.md). It
// authenticates with the access token as the second subprotocol entry
// (`bearer, <token>`; never in the URL), reconnects with capped exponential
// backoff and a fresh token (the server closes the socket when the token it
// was opened with expires), drops duplicates by event id, and keeps the last
// N messages. Delivery is at most once: screens that must not miss a change
// also poll the REST API (usePolling) and reload after a reconnect.

/** One message; `type` decides which of the optional fields are set. */
export interface Notification {
  type: NotificationType | (string & {});
  id: string;
  allocation_id?: string;
  node_id?: string;
  status?: string;
  /** Why: a failure reason such as node_lost, or what a failed GPU reported. */
  reason?: string;
  /** node.draining: when what still runs on the node is released (RFC 3339). */
  deadline?: string;
  balance_minor?: number;
  /** payment.*: the payment's amount, or the refund's, and the payment. */
  amount_minor?: number;
  payment_id?: string;
  currency?: string;
  /** Where the server keeps notifications: the stored one's id, kind and its words (naming the allocation, saying why). */
  notification_id?: string;
  kind?: string;
  title?: string;
  body?: string;
}

export type NotificationType =
  | 'allocation.status'
  | 'node.offline'
  | 'node.draining'
  | 'billing.low_balance'
  | 'billing.auto_release_pending'
  | 'billing.balance_depleted'
  | 'billing.balance_credited'
  | 'payment.succeeded'
  | 'payment.failed'
  | 'payment.refunded'
  | 'gpu.unhealthy';

/** A message as kept in the client: with the time it arrived. */
export interface ReceivedNotification extends Notification {
  receivedAt: Date;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed';

export interface NotificationsOptions {
  /** A valid access token, or null when signed out (the client then stops). */
  getToken: () => Promise<string | null>;
  url?: string;
  keep?: number;
  createSocket?: (url: string, protocols: string[]) => WebSocket;
  /** Backoff bounds in ms. */
  minDelay?: number;
  maxDelay?: number;
  random?: () => number;
}

type Listener = (n: ReceivedNotification) => void;
type StateListener = (s: ConnectionState) => void;

export function notificationsUrl(loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws/notifications`;
}

/** Delay before reconnect attempt n (0-based): exponential, capped, with ±25% jitter. */
export function backoffDelay(attempt: number, min: number, max: number, random: () => number): number {
  const base = Math.min(max, min * 2 ** attempt);
  return Math.round(base * (0.75 + random() * 0.5));
}

export class NotificationsClient {
  private readonly opts: Required<Omit<NotificationsOptions, 'url'>> & { url: string | undefined };
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private running = false;
  private readonly seen = new Set<string>();
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<StateListener>();
  private state: ConnectionState = 'idle';
  /** Newest first. */
  messages: ReceivedNotification[] = [];

  constructor(opts: NotificationsOptions) {
    this.opts = {
      url: opts.url,
      getToken: opts.getToken,
      keep: opts.keep ?? 50,
      createSocket: opts.createSocket ?? ((url, protocols) => new WebSocket(url, protocols)),
      minDelay: opts.minDelay ?? 1000,
      maxDelay: opts.maxDelay ?? 30_000,
      random: opts.random ?? Math.random,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    const s = this.socket;
    this.socket = null;
    if (s && s.readyState <= 1) s.close(1000, 'bye');
    this.setState('idle');
  }

  /** Every new message; returns the unsubscribe function. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onStateChange(fn: StateListener): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Handles one text frame (exposed for tests). */
  receive(raw: string): void {
    let msg: Notification;
    try {
      msg = JSON.parse(raw) as Notification;
    } catch {
      return;
    }
    if (typeof msg?.type !== 'string' || typeof msg.id !== 'string') return;
    if (this.seen.has(msg.id)) return;
    this.seen.add(msg.id);
    if (this.seen.size > this.opts.keep * 4) {
      // Forget the oldest ids; duplicates only arrive close together.
      const drop = [...this.seen].slice(0, this.seen.size - this.opts.keep * 2);
      for (const id of drop) this.seen.delete(id);
    }
    const received: ReceivedNotification = { ...msg, receivedAt: new Date() };
    this.messages = [received, ...this.messages].slice(0, this.opts.keep);
    for (const fn of this.listeners) fn(received);
  }

  private setState(s: ConnectionState): void {
    if (s === this.state) return;
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    this.setState('connecting');
    let token: string | null;
    try {
      token = await this.opts.getToken();
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (!this.running) return;
    if (!token) {
      this.stop();
      return;
    }
    const socket = this.opts.createSocket(this.opts.url ?? notificationsUrl(), ['bearer', token]);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setState('open');
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') this.receive(ev.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState('closed');
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and reconnects.
    };
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    const delay = backoffDelay(this.attempt, this.opts.minDelay, this.opts.maxDelay, this.opts.random);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}
