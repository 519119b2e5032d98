// Whose account the console acts for: the signed-in person's own, or one of
// their teams. The team switcher in the top bar sets it; the balance,
// allocations, new allocations and billing follow it (each request adds
// ?team=slug, or team in a create's body). It is kept in localStorage so a
// reload stays on the same account, and falls back to personal when the
// person is no longer in that team.
import { useCallback, useSyncExternalStore } from 'react';
import { useGet } from '../api/query';
import type { Team } from '../api/types';

const STORAGE_KEY = 'gpuaas.account';
const listeners = new Set<() => void>();

function read(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  window.addEventListener('storage', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('storage', fn);
  };
}

/** Sets the account: a team's slug, or '' for the person's own. */
export function setAccount(slug: string) {
  try {
    if (slug) localStorage.setItem(STORAGE_KEY, slug);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // private mode: the choice lasts until reload
  }
  listeners.forEach((fn) => fn());
}

export interface Account {
  /** The team's slug, or undefined for the person's own account. */
  team: string | undefined;
  /** The team itself, once the list of teams has loaded. */
  current: Team | undefined;
  teams: Team[];
  set: (slug: string) => void;
}

export function useTeams() {
  return useGet('/api/v1/teams', {}, { refetchInterval: 120_000 });
}

export function useAccount(): Account {
  const stored = useSyncExternalStore(subscribe, read, () => '');
  const teams = useTeams();
  const list = teams.data?.items ?? [];
  const current = list.find((t) => t.slug === stored);
  // Until the list has loaded the stored choice stands; once loaded, a team
  // the person left is dropped.
  const team = stored && (teams.data === undefined || current) ? stored : undefined;
  const set = useCallback((slug: string) => setAccount(slug), []);
  return { team, current, teams: list, set };
}

/** The query that points a request at the account: {team} or nothing. */
export function teamQuery(team: string | undefined): { team?: string } {
  return team ? { team } : {};
}
