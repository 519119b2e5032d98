// Filters of the admin lists. They live in the URL query (?status=…&q=…), so a
// link or a reload shows the same selection, and go to the API, which filters
// before it pages (users: q and role; nodes: q; allocations: user and node;
// audit: target type). Only the allocations' free-text search has no API
// filter: matchesSearch applies it to the page loaded.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { Allocation, Node } from '../../api/types';

/** The longest search text the API takes (q on users and nodes). */
export const SEARCH_MAX = 100;

/** How long typing has to pause before a search box's text becomes the filter. */
export const SEARCH_DELAY_MS = 300;

/**
 * The named query parameters as strings ('' when absent), and a setter that
 * merges a patch into the URL (empty values are removed), replacing the
 * history entry so typing in a search box does not fill the back button.
 */
export function useUrlFilters<K extends string>(keys: readonly K[]): [Record<K, string>, (patch: Partial<Record<K, string>>) => void] {
  const [params, setParams] = useSearchParams();
  const values = useMemo(() => {
    const out = {} as Record<K, string>;
    for (const k of keys) out[k] = params.get(k) ?? '';
    return out;
    // keys is a constant list per screen.
  }, [params]); // eslint-disable-line react-hooks/exhaustive-deps
  const set = useCallback(
    (patch: Partial<Record<K, string>>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          let changed = false;
          for (const [k, v] of Object.entries(patch) as [string, string | undefined][]) {
            if ((prev.get(k) ?? '') !== (v ?? '')) changed = true;
            if (v) next.set(k, v);
            else next.delete(k);
          }
          // Other filters, other pages: a URL pager (useUrlCursorPager) starts again at the first.
          if (changed) {
            next.delete('cursor');
            next.delete('back');
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  return [values, set];
}

/**
 * A search box over a URL filter: the box shows what is typed at once, and the
 * filter (so the request) follows once typing pauses for `delay` ms. A change
 * of the filter from elsewhere (Clear filters, the back button) shows in the
 * box. setText('') clears the box and, after the pause, the filter.
 */
export function useSearchBox(
  value: string,
  commit: (text: string) => void,
  delay = SEARCH_DELAY_MS,
): [string, (text: string) => void] {
  const [text, setText] = useState(value);
  const committed = useRef(value);
  const commitRef = useRef(commit);
  commitRef.current = commit;
  useEffect(() => {
    if (value !== committed.current) {
      committed.current = value;
      setText(value);
    }
  }, [value]);
  useEffect(() => {
    if (text === committed.current) return;
    const t = setTimeout(() => {
      committed.current = text;
      commitRef.current(text);
    }, delay);
    return () => clearTimeout(t);
  }, [text, delay]);
  return [text, setText];
}

/** A search filter as the API query wants it: trimmed, absent when blank. */
export function searchParam(q: string): string | undefined {
  return q.trim() || undefined;
}

/** A stable string of the values, for effect dependencies (reset the pager when it changes). */
export function filterKey(values: Record<string, string>): string {
  return JSON.stringify(values);
}

/** Case-insensitive: every word of the query appears in one of the fields. */
export function matchesSearch(query: string, fields: (string | null | undefined)[]): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = fields.filter(Boolean).join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** The allocations of a page (already filtered by the API) that match the search. */
export function searchAllocations(
  allocations: Allocation[],
  q: string,
  usernames: Map<string, string> = new Map(),
): Allocation[] {
  return allocations.filter((a) =>
    matchesSearch(q, [a.name, a.id, a.sku_id, a.user_id, usernames.get(a.user_id)]),
  );
}

export interface GpuSummary {
  total: number;
  allocated: number;
  healthy: number;
  unhealthy: number;
  model: string;
}

export function gpuSummary(node: Node): GpuSummary {
  const models = [...new Set(node.gpus.map((g) => g.model))];
  return {
    total: node.gpus.length,
    allocated: node.gpus.filter((g) => g.allocated).length,
    healthy: node.gpus.filter((g) => g.health === 'healthy').length,
    unhealthy: node.gpus.filter((g) => g.health !== 'healthy').length,
    model: models.length === 1 ? models[0]! : models.length > 1 ? 'mixed models' : '',
  };
}

/** A node with allocated GPUs cannot be disabled (the API answers 409 node_in_use). */
export function nodeInUse(node: Node): boolean {
  return node.gpus.some((g) => g.allocated);
}

/** Allocation statuses an admin can still force-release (not terminal, not already on the way out). */
export function canForceRelease(a: Pick<Allocation, 'status'>): boolean {
  return a.status === 'requested' || a.status === 'provisioning' || a.status === 'active' || a.status === 'release_failed';
}

/**
 * The count above a list the API filtered: "Showing 3 users", "Showing 3
 * matching users", with "on this page" when there are more pages.
 */
export function listCount(shown: number, noun: string, filtered: boolean, morePages: boolean): string {
  const nouns = `${noun}${shown === 1 ? '' : 's'}`;
  return `Showing ${shown} ${filtered ? 'matching ' : ''}${nouns}${morePages ? ' on this page' : ''}`;
}

/** "Showing 3 of 50 users" for a page filtered here, "50 users" when nothing is filtered out. */
export function showingCount(shown: number, loaded: number, noun: string, morePages: boolean): string {
  const plural = (n: number) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const page = morePages ? ' on this page' : '';
  return shown === loaded ? `Showing ${plural(loaded)}${page}` : `Showing ${shown} of ${plural(loaded)}${page}`;
}
