import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MarketplacePage } from '../../pages/marketplace/MarketplacePage';
import { json, renderPage, type Handlers } from './testing';

const sku = {
  id: 'h100',
  name: 'H100 ×1',
  gpu_model: 'NVIDIA H100 80GB HBM3',
  gpu_count: 1,
  gpu_memory_mib: 81920,
  vcpu: 26,
  memory_mib: 230400,
  disk_gib: 512,
  price_per_hour_minor: 249,
  currency: 'USD',
  region: 'local-1',
  active: true,
  available: 3,
};

const launchables = [
  { id: 'shell', name: 'Shell', description: 'A Linux account on the node.', runtime: 'process', image: '', ports: [], params: [] },
  {
    id: 'jupyter',
    name: 'Jupyter',
    description: 'A Jupyter server with CUDA.',
    runtime: 'docker',
    image: 'quay.io/jupyter/pytorch-notebook:cuda12-latest',
    ports: [{ name: 'lab', port: 8888, protocol: 'http' }],
    health: { port: 8888, path: '/api/status' },
    params: [
      { name: 'image', description: 'Another Jupyter image.', required: false, secret: false },
      { name: 'password', description: 'A password for the lab.', required: true, secret: true },
    ],
  },
  { id: 'container', name: 'Custom container', description: 'Any image the operator allows.', runtime: 'docker', image: '', ports: [], params: [] },
];

async function openDialog(extra: Handlers = {}) {
  const r = renderPage(<MarketplacePage />, {
    path: '/marketplace',
    extraRoutes: [{ path: '/allocations/:id', element: <p>allocation page</p> }],
    handlers: {
      'GET /api/v1/skus': () => json(200, { items: [sku], next_cursor: '' }),
      'GET /api/v1/launchables': () => json(200, { items: launchables }),
      'POST /api/v1/allocations': () => json(202, { id: 'a-new', status: 'requested' }),
      ...extra,
    },
  });
  fireEvent.click(await screen.findByRole('button', { name: 'Create H100 ×1' }));
  const dialog = await screen.findByRole('dialog', { name: 'Create H100 ×1' });
  await within(dialog).findByRole('radio', { name: /Jupyter/ });
  return { ...r, dialog };
}

const posted = (calls: { method: string; url: string; body: unknown }[]) =>
  calls.filter((c) => c.method === 'POST' && c.url === '/api/v1/allocations').map((c) => c.body as Record<string, unknown>);

describe('the create dialog’s app picker', () => {
  it('sends no workload for the shell (the default)', async () => {
    const { dialog, calls } = await openDialog();
    expect(within(dialog).getByRole('radio', { name: /Shell/ })).toHaveProperty('checked', true);
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    expect(await screen.findByText('allocation page')).toBeTruthy();
    expect(posted(calls)).toEqual([{ sku_id: 'h100' }]);
  });

  it('shows Jupyter’s params, the secret one as a password, and sends them', async () => {
    const { dialog, calls } = await openDialog();
    fireEvent.click(within(dialog).getByRole('radio', { name: /Jupyter/ }));
    const pw = within(dialog).getByLabelText('Password') as HTMLInputElement;
    expect(pw.type).toBe('password');
    expect((within(dialog).getByLabelText('Image (optional)') as HTMLInputElement).type).toBe('text');
    // The required param is checked before anything is sent.
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    expect(await within(dialog).findByText('Required.')).toBeTruthy();
    expect(posted(calls)).toEqual([]);
    fireEvent.change(pw, { target: { value: 's3cret pass' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    expect(await screen.findByText('allocation page')).toBeTruthy();
    expect(posted(calls)).toEqual([{ sku_id: 'h100', workload: { launchable: 'jupyter', params: { password: 's3cret pass' } } }]);
  });

  it('builds a custom container: image, quoted command, ports and env', async () => {
    const { dialog, calls } = await openDialog();
    fireEvent.click(within(dialog).getByRole('radio', { name: /Custom container/ }));
    fireEvent.change(within(dialog).getByLabelText('Image'), { target: { value: ' nvcr.io/nvidia/pytorch:24.05-py3 ' } });
    fireEvent.change(within(dialog).getByLabelText('Command (optional)'), {
      target: { value: `sh -c "python -m http.server 8080"` },
    });
    expect(within(dialog).getByTestId('command-preview').textContent).toContain('3 arguments');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add port' }));
    expect((within(dialog).getByLabelText('Port 1 name') as HTMLInputElement).value).toBe('web');
    fireEvent.change(within(dialog).getByLabelText('Port 1 number'), { target: { value: '8080' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add port' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Remove port 2' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add variable' }));
    fireEvent.change(within(dialog).getByLabelText('Variable 1 name'), { target: { value: 'EPOCHS' } });
    fireEvent.change(within(dialog).getByLabelText('Variable 1 value'), { target: { value: '3' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    expect(await screen.findByText('allocation page')).toBeTruthy();
    expect(posted(calls)).toEqual([
      {
        sku_id: 'h100',
        workload: {
          launchable: 'container',
          image: 'nvcr.io/nvidia/pytorch:24.05-py3',
          command: ['sh', '-c', 'python -m http.server 8080'],
          ports: [{ name: 'web', port: 8080 }],
          env: { EPOCHS: '3' },
        },
      },
    ]);
  });

  it('checks the obvious before sending: image, port range and names, env names', async () => {
    const { dialog, calls } = await openDialog();
    fireEvent.click(within(dialog).getByRole('radio', { name: /Custom container/ }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add port' }));
    fireEvent.change(within(dialog).getByLabelText('Port 1 name'), { target: { value: 'Web' } });
    fireEvent.change(within(dialog).getByLabelText('Port 1 number'), { target: { value: '70000' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add variable' }));
    fireEvent.change(within(dialog).getByLabelText('Variable 1 name'), { target: { value: '1BAD' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    expect(await within(dialog).findByTestId('workload-invalid')).toBeTruthy();
    const image = within(dialog).getByLabelText('Image');
    expect(image.getAttribute('aria-invalid')).toBe('true');
    expect(within(dialog).getByLabelText('Port 1 name').getAttribute('aria-invalid')).toBe('true');
    expect(within(dialog).getByText('A number from 1 to 65535.')).toBeTruthy();
    expect(within(dialog).getByText('Letters, digits and _, not starting with a digit.')).toBeTruthy();
    expect(posted(calls)).toEqual([]);
  });

  it('shows the server’s field error next to the field it names', async () => {
    const { dialog } = await openDialog({
      'POST /api/v1/allocations': () =>
        json(400, {
          code: 'invalid_request',
          message: 'workload.ports[1].port: want 1 to 65535, unique in the workload, got 8080',
          correlation_id: 'c-400',
          details: { field: 'workload.ports[1].port' },
        }),
    });
    fireEvent.click(within(dialog).getByRole('radio', { name: /Custom container/ }));
    fireEvent.change(within(dialog).getByLabelText('Image'), { target: { value: 'python:3.12' } });
    // A blank row in between is left out of the request: the server's [1] is the third row.
    for (let i = 0; i < 3; i++) fireEvent.click(within(dialog).getByRole('button', { name: 'Add port' }));
    fireEvent.change(within(dialog).getByLabelText('Port 1 number'), { target: { value: '8080' } });
    fireEvent.change(within(dialog).getByLabelText('Port 3 name'), { target: { value: 'api' } });
    fireEvent.change(within(dialog).getByLabelText('Port 3 number'), { target: { value: '8081' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    const summary = await within(dialog).findByTestId('workload-refused');
    expect(summary.getAttribute('role')).toBe('alert');
    const port3 = within(dialog).getByLabelText('Port 3 number');
    expect(port3.getAttribute('aria-invalid')).toBe('true');
    const errId = port3.getAttribute('aria-describedby')!;
    expect(document.getElementById(errId)!.textContent).toBe('Want 1 to 65535, unique in the workload, got 8080');
    expect(within(dialog).getByLabelText('Port 1 number').getAttribute('aria-invalid')).toBeNull();
  });

  it('names a refused image in plain words under the image field', async () => {
    const { dialog } = await openDialog({
      'POST /api/v1/allocations': () =>
        json(400, {
          code: 'image_not_allowed',
          message: 'workload.params.image: image "evil/x" is not allowed here',
          correlation_id: 'c-400',
          details: { field: 'workload.params.image' },
        }),
    });
    fireEvent.click(within(dialog).getByRole('radio', { name: /Jupyter/ }));
    fireEvent.change(within(dialog).getByLabelText('Image (optional)'), { target: { value: 'evil/x' } });
    fireEvent.change(within(dialog).getByLabelText('Password'), { target: { value: 'pw' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /Create for/ }));
    await within(dialog).findByTestId('workload-refused');
    const input = within(dialog).getByLabelText('Image (optional)');
    await waitFor(() => expect(input.getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById(input.getAttribute('aria-describedby')!.split(' ').pop()!)!.textContent).toContain(
      'not allowed here',
    );
  });

  it('offers the shell alone when the catalogue cannot be loaded', async () => {
    renderPage(<MarketplacePage />, {
      path: '/marketplace',
      handlers: {
        'GET /api/v1/skus': () => json(200, { items: [sku], next_cursor: '' }),
        'GET /api/v1/launchables': () => json(503, { code: 'unavailable', message: 'down', correlation_id: 'c' }),
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Create H100 ×1' }));
    const dialog = await screen.findByRole('dialog');
    expect(await within(dialog).findByText(/only a shell is offered/)).toBeTruthy();
    expect(within(dialog).getAllByRole('radio')).toHaveLength(1);
  });
});
