// Filters of the admin lists. They live in the URL query (?status=…&q=…), so a
// link or a reload shows the same selection; the pure matching below is what
// the API cannot do itself (search, role, node), applied to the page loaded.
import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { Allocation, Node, User } from '../../api/types';

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
          for (const [k, v] of Object.entries(patch) as [string, string | undefined][]) {
            if (v) next.set(k, v);
            else next.delete(k);
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

export function filterUsers(users: User[], f: { q?: string; role?: string }): User[] {
  return users.filter(
    (u) => (!f.role || u.role === f.role) && matchesSearch(f.q ?? '', [u.username, u.email, u.id]),
  );
}

export function filterNodes(nodes: Node[], f: { q?: string }): Node[] {
  return nodes.filter((n) =>
    matchesSearch(f.q ?? '', [n.hostname, n.region, n.id, n.agent_version, ...n.gpus.map((g) => g.model)]),
  );
}

export function filterAllocations(
  allocations: Allocation[],
  f: { q?: string; node_id?: string },
  usernames: Map<string, string> = new Map(),
): Allocation[] {
  return allocations.filter(
    (a) =>
      (!f.node_id || a.node_id === f.node_id) &&
      matchesSearch(f.q ?? '', [a.name, a.id, a.sku_id, a.user_id, usernames.get(a.user_id)]),
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

/** "Showing 3 of 50 users" for a filtered page, "50 users" when nothing is filtered out. */
export function showingCount(shown: number, loaded: number, noun: string, morePages: boolean): string {
  const plural = (n: number) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const page = morePages ? ' on this page' : '';
  return shown === loaded ? `Showing ${plural(loaded)}${page}` : `Showing ${shown} of ${plural(loaded)}${page}`;
}
