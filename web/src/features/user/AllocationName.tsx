// An allocation named by its name rather than its id, wherever only the id is
// at hand (usage rows, notifications). Names come from the cached list of the
// user's recent allocations, one request shared by every row; one not in it is
// read on its own (and cached, so its page opens at once).
import { useGet } from '../../api/query';
import { allocationTitle } from './allocations';

export function useAllocationNames(): Map<string, string> | undefined {
  const q = useGet('/api/v1/allocations', { query: { page_size: 200 } }, { refetchInterval: false });
  if (!q.data) return undefined;
  return new Map(q.data.items.map((a) => [a.id, allocationTitle(a)]));
}

export function AllocationName({ id }: { id: string }) {
  const names = useAllocationNames();
  const known = names?.get(id);
  const one = useGet('/api/v1/allocations/{allocation_id}', { path: { allocation_id: id } }, { enabled: !!names && !known });
  const name = known ?? (one.data ? allocationTitle(one.data) : undefined);
  return <>{name ?? allocationTitle({ id, name: '' })}</>;
}
