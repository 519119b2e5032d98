import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, renderAdmin, type FakeRequest } from '../../features/admin/testing';
import { CataloguePage } from './CataloguePage';

const region = { slug: 'eu-1', name: 'Europe 1', node_count: 1, sku_count: 1, created_at: '2026-01-01T00:00:00Z' };
const sku = {
  id: 'h100-x1',
  name: 'H100 ×1',
  gpu_model: 'NVIDIA H100 80GB HBM3',
  gpu_count: 1,
  gpu_memory_mib: 81559,
  vcpu: 16,
  memory_mib: 196608,
  disk_gib: 500,
  price_per_hour_minor: 349,
  currency: 'USD',
  region: 'eu-1',
  active: true,
  available: 3,
};
const suggestion = {
  id: 'a100-sxm4-80gb-x4',
  name: 'A100-SXM4-80GB ×4',
  region: 'eu-1',
  gpu_model: 'NVIDIA A100-SXM4-80GB',
  gpu_memory_mib: 81920,
  gpu_count: 4,
  node_count: 2,
};

function fake(over: (r: FakeRequest) => Response | undefined = () => undefined) {
  return (r: FakeRequest) => {
    const o = over(r);
    if (o) return o;
    const p = `${r.method} ${r.url.pathname}`;
    if (p === 'GET /api/v1/admin/regions') return json(200, { items: [region] });
    if (p === 'GET /api/v1/admin/skus') return json(200, { items: [sku], next_cursor: '' });
    if (p === 'GET /api/v1/admin/skus/suggestions') return json(200, { items: [suggestion] });
    return undefined;
  };
}

describe('CataloguePage', () => {
  it('lists regions and SKUs with money in its currency', async () => {
    renderAdmin('/admin/catalogue', '/admin/catalogue', CataloguePage, fake());
    expect(await screen.findByText('Europe 1')).toBeTruthy();
    expect(await screen.findByText('USD 3.49')).toBeTruthy();
    expect(screen.getByText('active')).toBeTruthy();
  });

  it('creates a region, checking the slug before it sends', async () => {
    const s = renderAdmin('/admin/catalogue', '/admin/catalogue', CataloguePage, fake((r) =>
      r.method === 'POST' && r.url.pathname === '/api/v1/admin/regions'
        ? json(201, { ...region, slug: 'us-2', name: 'US 2', node_count: 0, sku_count: 0 })
        : undefined,
    ));
    fireEvent.click(await screen.findByRole('button', { name: 'New region' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText('Slug'), { target: { value: 'US 2' } });
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'US 2' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create region' }));
    expect(await within(dialog).findByText(/2 to 32 of a–z/)).toBeTruthy();
    expect(s.requests.some((r) => r.method === 'POST')).toBe(false);
    fireEvent.change(within(dialog).getByLabelText('Slug'), { target: { value: 'us-2' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create region' }));
    await waitFor(() => expect(s.requests.find((r) => r.method === 'POST')?.body).toEqual({ slug: 'us-2', name: 'US 2' }));
  });

  it('says in plain words which nodes and SKUs keep a region', async () => {
    renderAdmin('/admin/catalogue', '/admin/catalogue', CataloguePage, fake((r) =>
      r.method === 'DELETE'
        ? json(409, {
            code: 'region_in_use',
            message: 'region eu-1 is used by …',
            correlation_id: 'c1',
            details: { node_count: 1, sku_count: 1, nodes: ['eu-node-a'], skus: ['h100-x1'] },
          })
        : undefined,
    ));
    fireEvent.click(await screen.findByRole('button', { name: 'Delete region eu-1' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Delete region' }));
    const text = await screen.findByText(/^Region eu-1 is still used by/);
    expect(text.textContent).toBe(
      'Region eu-1 is still used by 1 node (eu-node-a) and 1 SKU (h100-x1). Move or remove them first; inactive SKUs and disabled nodes count too.',
    );
    expect(text.getAttribute('role')).toBe('alert');
  });

  it('creates a SKU from a suggestion in one click plus the figures only the admin knows', async () => {
    const s = renderAdmin('/admin/catalogue', '/admin/catalogue', CataloguePage, fake((r) =>
      r.method === 'POST' && r.url.pathname === '/api/v1/admin/skus' ? json(201, { ...sku, id: suggestion.id }) : undefined,
    ));
    fireEvent.click(await screen.findByRole('button', { name: `Create SKU ${suggestion.id}` }));
    const dialog = await screen.findByRole('dialog');
    expect((within(dialog).getByLabelText('ID') as HTMLInputElement).value).toBe(suggestion.id);
    expect((within(dialog).getByLabelText('GPUs') as HTMLInputElement).value).toBe('4');
    fireEvent.change(within(dialog).getByLabelText('vCPUs'), { target: { value: '64' } });
    fireEvent.change(within(dialog).getByLabelText('Memory (GiB)'), { target: { value: '512' } });
    fireEvent.change(within(dialog).getByLabelText('Disk (GiB)'), { target: { value: '2000' } });
    fireEvent.change(within(dialog).getByLabelText('Price per hour (USD)'), { target: { value: '5.96' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create SKU' }));
    await waitFor(() =>
      expect(s.requests.find((r) => r.method === 'POST')?.body).toEqual({
        id: suggestion.id,
        name: suggestion.name,
        region: 'eu-1',
        gpu_model: suggestion.gpu_model,
        gpu_count: 4,
        gpu_memory_mib: 81920,
        vcpu: 64,
        memory_mib: 512 * 1024,
        disk_gib: 2000,
        price_per_hour_minor: 596,
        currency: 'USD',
      }),
    );
  });

  it('shows the server’s 400 next to the field it names', async () => {
    renderAdmin('/admin/catalogue', '/admin/catalogue', CataloguePage, fake((r) =>
      r.method === 'POST'
        ? json(400, { code: 'invalid_request', message: 'gpu_model: must be 1 to 128 characters', correlation_id: 'c', details: { field: 'gpu_model' } })
        : undefined,
    ));
    fireEvent.click(await screen.findByRole('button', { name: `Create SKU ${suggestion.id}` }));
    const dialog = await screen.findByRole('dialog');
    for (const [label, v] of [['vCPUs', '8'], ['Memory (GiB)', '64'], ['Disk (GiB)', '100'], ['Price per hour (USD)', '1']]) {
      fireEvent.change(within(dialog).getByLabelText(label!), { target: { value: v } });
    }
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create SKU' }));
    const input = within(dialog).getByLabelText('GPU model');
    await waitFor(() => expect(input.getAttribute('aria-invalid')).toBe('true'));
    expect(within(dialog).getByText('gpu_model: must be 1 to 128 characters')).toBeTruthy();
  });

  it('changes a price in minor units, sending only what changed, and shows the history', async () => {
    const s = renderAdmin('/admin/catalogue', '/admin/catalogue', CataloguePage, fake((r) => {
      if (r.method === 'PATCH') return json(200, { ...sku, price_per_hour_minor: 399 });
      if (r.url.pathname === '/api/v1/admin/skus/h100-x1/prices')
        return json(200, {
          items: [
            { price_per_hour_minor: 399, previous_price_minor: 349, currency: 'USD', changed_by: 'u1', changed_by_username: 'ada', changed_at: '2026-02-01T00:00:00Z' },
            { price_per_hour_minor: 349, previous_price_minor: null, currency: 'USD', changed_by: null, changed_by_username: null, changed_at: '2026-01-01T00:00:00Z' },
          ],
        });
      return undefined;
    }));
    fireEvent.click(await screen.findByRole('button', { name: 'Edit SKU h100-x1' }));
    const dialog = await screen.findByRole('dialog');
    const price = within(dialog).getByLabelText('Price per hour (USD)') as HTMLInputElement;
    expect(price.value).toBe('3.49');
    fireEvent.change(price, { target: { value: '3.99' } });
    expect(within(dialog).getByText('USD 3.99')).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(s.requests.find((r) => r.method === 'PATCH')?.body).toEqual({ price_per_hour_minor: 399 }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    fireEvent.click(screen.getByRole('button', { name: 'Price history of h100-x1' }));
    const list = await screen.findByRole('list', { name: 'Prices, newest first' });
    const items = within(list).getAllByRole('listitem');
    expect(items[0]!.textContent).toContain('USD 3.99');
    expect(items[0]!.textContent).toContain('was USD 3.49');
    expect(items[0]!.textContent).toContain('ada');
    expect(items[1]!.textContent).toContain('when created');
  });
});
