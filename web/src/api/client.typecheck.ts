// Compile-time checks of the typed client (tsc only; never run).
import { api } from './client';

export async function typeChecks(): Promise<void> {
  const me = await api.get('/api/v1/users/me');
  me.username satisfies string;
  const list = await api.get('/api/v1/allocations', { query: { status: 'active', cursor: 'x', page_size: 10 } });
  list.items[0]?.status satisfies string | undefined;
  await api.post('/api/v1/allocations/{allocation_id}/release', { path: { allocation_id: 'x' } });
  await api.post('/api/v1/allocations', { body: { sku_id: 'h100' }, headers: { 'Idempotency-Key': 'k' } });
  await api.post('/api/v1/auth/logout');
  await api.delete('/api/v1/ssh-keys/{key_id}', { path: { key_id: 'x' } });
  // @ts-expect-error unknown path
  await api.get('/api/v1/nope');
  // @ts-expect-error missing path params
  await api.post('/api/v1/allocations/{allocation_id}/release');
  // @ts-expect-error body is required
  await api.post('/api/v1/allocations', {});
  // @ts-expect-error wrong query value
  await api.get('/api/v1/allocations', { query: { status: 'bogus' } });
  // @ts-expect-error GET has no body
  await api.get('/api/v1/users/me', { body: {} });
}
