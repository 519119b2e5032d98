// The browser terminal of an active allocation: xterm.js + the fit addon
// over a TerminalSession. It shows connecting / ready / closed (exit code) /
// error (code and message) states, keeps the remote size in step with the
// panel (resize control frames), reconnects with a freshly minted token, and
// hangs up when the allocation stops being active.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { api } from '../../api/client';
import { useAnnounce } from '../../components/Announcer';
import { StatusPill } from '../../components/StatusPill';
import { TerminalSession, type TerminalStatus } from './terminalSession';
import './user.css';

const THEME = {
  background: '#0b1120',
  foreground: '#e2e8f0',
  cursor: '#a5b4fc',
  selectionBackground: '#334155',
  black: '#0f172a',
  brightBlack: '#64748b',
};

export function TerminalPanel({ allocationId, active }: { allocationId: string; active: boolean }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const sessionRef = useRef<TerminalSession | null>(null);
  const [status, setStatus] = useState<TerminalStatus>({ phase: 'idle' });
  const announce = useAnnounce();

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: "ui-monospace, 'SFMono-Regular', 'JetBrains Mono', Menlo, Consolas, monospace",
      fontSize: 13,
      scrollback: 5000,
      theme: THEME,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    const refit = () => {
      try {
        fit.fit();
      } catch {
        // Not laid out yet (hidden or zero-sized); the next resize fits.
      }
    };
    refit();
    termRef.current = term;
    const session = new TerminalSession({
      allocationId,
      mintToken: async () =>
        (await api.post('/api/v1/allocations/{allocation_id}/terminal-token', { path: { allocation_id: allocationId } }))
          .token,
      onOutput: (bytes) => term.write(bytes),
      onStatus: (s) => {
        setStatus(s);
        if (s.phase === 'ready') term.focus();
      },
    });
    sessionRef.current = session;
    const subs = [
      term.onData((d) => session.send(d)),
      term.onBinary((d) => session.sendBinary(d)),
      term.onResize(({ cols, rows }) => session.resize(cols, rows)),
    ];
    let ro: ResizeObserver | undefined;
    if (typeof ResizeObserver !== 'undefined') {
      ro = new ResizeObserver(refit);
      ro.observe(host);
    }
    void session.open(term.cols, term.rows);
    return () => {
      ro?.disconnect();
      for (const s of subs) s.dispose();
      session.close();
      term.dispose();
      termRef.current = null;
      sessionRef.current = null;
    };
  }, [allocationId]);

  // Releasing hangs up the shell (the server sends session_closed too).
  useEffect(() => {
    if (!active) sessionRef.current?.close('The allocation is no longer active.');
  }, [active]);

  // Say what happened to the session, for screen readers.
  useEffect(() => {
    if (status.phase === 'ready') announce('Terminal connected');
    else if (status.phase === 'closed')
      announce(`Terminal closed${status.exitCode !== null ? `, exit code ${status.exitCode}` : ''}`);
    else if (status.phase === 'error') announce(`Terminal error: ${status.message}`, 'assertive');
  }, [status, announce]);

  const reconnect = () => {
    const term = termRef.current;
    const session = sessionRef.current;
    if (!term || !session) return;
    term.write('\r\n\x1b[2m— reconnecting —\x1b[0m\r\n');
    void session.open(term.cols, term.rows);
  };

  const canReconnect = active && (status.phase === 'closed' || status.phase === 'error');
  return (
    <div className="terminal-panel" data-testid="terminal-panel" data-phase={status.phase}>
      <div className="terminal-bar">
        <TerminalStatusLine status={status} />
        <div className="terminal-actions">
          {status.phase === 'ready' && (
            <button type="button" className="button small" onClick={() => sessionRef.current?.close()}>
              Disconnect
            </button>
          )}
          {canReconnect && (
            <button type="button" className="button small primary" onClick={reconnect}>
              Reconnect
            </button>
          )}
        </div>
      </div>
      <div
        ref={hostRef}
        className="terminal-host"
        data-testid="terminal"
        role="group"
        aria-label="Terminal: a shell on the allocation's node"
      />
    </div>
  );
}

function TerminalStatusLine({ status }: { status: TerminalStatus }) {
  switch (status.phase) {
    case 'idle':
    case 'connecting':
      return (
        <span className="terminal-status">
          <StatusPill status="provisioning" label="Connecting" tone="info" />
          <span className="muted">Minting a one-time token and opening the session…</span>
        </span>
      );
    case 'ready':
      return (
        <span className="terminal-status">
          <StatusPill status="active" label="Connected" tone="success" />
          <span className="muted">Type here; the session ends when you leave the page.</span>
        </span>
      );
    case 'closed':
      return (
        <span className="terminal-status">
          <StatusPill status="closed" label="Closed" tone="neutral" />
          <span className="muted">
            {status.reason}
            {status.exitCode !== null && <> Exit code {status.exitCode}.</>}
          </span>
        </span>
      );
    case 'error':
      return (
        <span className="terminal-status" role="alert">
          <StatusPill status="error" label="Error" tone="danger" />
          <span>
            {status.message}
            <details className="error-box-details">
              <summary>Details</summary>
              <code>{status.code}</code>
              {status.detail && status.detail !== status.message && <> — {status.detail}</>}
              {status.correlationId && (
                <>
                  {' '}
                  · reference <code>{status.correlationId}</code>
                </>
              )}
            </details>
          </span>
        </span>
      );
  }
}
