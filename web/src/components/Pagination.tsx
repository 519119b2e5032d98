// Cursor pagination (the API's {items, next_cursor}): the API only goes
// forward, so "Back" pops a stack of the cursors already visited.
//
//   const pager = useCursorPager();
//   const q = useGet('/api/v1/billing/usage', { query: { cursor: pager.cursor } });
//   <Pagination pager={pager} nextCursor={q.data?.next_cursor} />
//   // when filters change: pager.reset()
import { useCallback, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';

export interface CursorPager {
  /** The cursor of the page being shown; undefined on the first page. */
  cursor: string | undefined;
  /** 1-based. */
  page: number;
  next: (nextCursor: string) => void;
  back: () => void;
  reset: () => void;
  canBack: boolean;
}

export function useCursorPager(): CursorPager {
  const [stack, setStack] = useState<string[]>([]);
  const next = useCallback((c: string) => setStack((s) => [...s, c]), []);
  const back = useCallback(() => setStack((s) => s.slice(0, -1)), []);
  const reset = useCallback(() => setStack([]), []);
  return useMemo(
    () => ({ cursor: stack.at(-1), page: stack.length + 1, next, back, reset, canBack: stack.length > 0 }),
    [stack, next, back, reset],
  );
}

/**
 * The same pager, kept in the URL (?cursor=…&back=c1,c2): a reload, a shared
 * link or the browser's Back shows the same page. Resetting drops both.
 */
export function useUrlCursorPager(): CursorPager {
  const [params, setParams] = useSearchParams();
  const cursor = params.get('cursor') || undefined;
  const backRaw = params.get('back') ?? '';
  const stack = useMemo(() => {
    const prev = backRaw ? backRaw.split(',').map((c) => decodeURIComponent(c)) : [];
    return cursor ? [...prev.filter(Boolean), cursor] : [];
  }, [backRaw, cursor]);
  const write = useCallback(
    (next: string[]) =>
      setParams(
        (p) => {
          const q = new URLSearchParams(p);
          q.delete('cursor');
          q.delete('back');
          if (next.length > 0) {
            q.set('cursor', next[next.length - 1]!);
            const prev = next.slice(0, -1);
            if (prev.length) q.set('back', prev.map((c) => encodeURIComponent(c)).join(','));
          }
          return q;
        },
      ),
    [setParams],
  );
  const next = useCallback((c: string) => write([...stack, c]), [write, stack]);
  const back = useCallback(() => write(stack.slice(0, -1)), [write, stack]);
  const stackRef = useRef(stack);
  stackRef.current = stack;
  const reset = useCallback(() => {
    if (stackRef.current.length > 0) write([]);
  }, [write]);
  return useMemo(
    () => ({ cursor: stack.at(-1), page: stack.length + 1, next, back, reset, canBack: stack.length > 0 }),
    [stack, next, back, reset],
  );
}

export function Pagination({
  pager,
  nextCursor,
  disabled = false,
}: {
  pager: CursorPager;
  nextCursor: string | undefined;
  disabled?: boolean;
}) {
  if (!pager.canBack && !nextCursor) return null;
  return (
    <nav className="pagination" aria-label="Pagination">
      <button type="button" className="button small" onClick={pager.back} disabled={disabled || !pager.canBack}>
        ← Previous
      </button>
      <span className="muted">Page {pager.page}</span>
      <button
        type="button"
        className="button small"
        onClick={() => nextCursor && pager.next(nextCursor)}
        disabled={disabled || !nextCursor}
      >
        Next →
      </button>
    </nav>
  );
}
