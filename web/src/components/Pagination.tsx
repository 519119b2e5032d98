// Cursor pagination (the API's {items, next_cursor}): the API only goes
// forward, so "Back" pops a stack of the cursors already visited.
//
//   const pager = useCursorPager();
//   const q = useGet('/api/v1/billing/usage', { query: { cursor: pager.cursor } });
//   <Pagination pager={pager} nextCursor={q.data?.next_cursor} />
//   // when filters change: pager.reset()
import { useCallback, useMemo, useState } from 'react';

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
