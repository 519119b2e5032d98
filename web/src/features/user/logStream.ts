// Reads GET /api/v1/allocations/{id}/logs?follow=true: text/plain streamed
// for as long as the container writes (or until the signal aborts), with
// the session's bearer token and its refresh-once-on-401 (api/client send).
// Chunks arrive as the network cuts them: the decoder keeps a UTF-8
// character split across two chunks whole, and LineBuffer a line.
import { send } from '../../api/client';

export async function streamLogs(
  allocationId: string,
  opts: { tail: number; follow?: boolean; signal: AbortSignal; onOpen?: () => void; onText: (text: string) => void },
): Promise<void> {
  const res = await send('get', '/api/v1/allocations/{allocation_id}/logs', {
    path: { allocation_id: allocationId },
    query: { tail: opts.tail, follow: opts.follow ?? true },
    headers: { Accept: 'text/plain' },
    signal: opts.signal,
  });
  opts.onOpen?.();
  const reader = res.body?.getReader();
  if (!reader) {
    const text = await res.text();
    if (text) opts.onText(text);
    return;
  }
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text) opts.onText(text);
    }
  } finally {
    reader.releaseLock();
  }
  const rest = decoder.decode();
  if (rest) opts.onText(rest);
}
