// Names for ids in admin tables: usernames for user ids, hostnames for node
// ids. One request each (the API's largest page); an id that is not on it is
// shown shortened instead.
import { useGet } from '../../api/query';
import type { Node, User } from '../../api/types';

export interface Lookup<T> {
  items: T[];
  name: (id: string | null | undefined) => string | undefined;
  map: Map<string, string>;
}

function lookup<T extends { id: string }>(items: T[] | undefined, label: (t: T) => string): Lookup<T> {
  const map = new Map((items ?? []).map((t) => [t.id, label(t)]));
  return { items: items ?? [], map, name: (id) => (id ? map.get(id) : undefined) };
}

export function useUserLookup(): Lookup<User> {
  const q = useGet('/api/v1/admin/users', { query: { page_size: 200 } });
  return lookup(q.data?.items, (u) => u.username);
}

export function useNodeLookup(): Lookup<Node> {
  const q = useGet('/api/v1/admin/nodes', { query: { page_size: 200 } });
  return lookup(q.data?.items, (n) => n.hostname);
}
