import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { json, renderPage } from '../../features/user/testing';
import { resetStorageUploads } from '../../features/user/storageUploads';
import { setXhrFactory } from '../../features/user/storageTransfer';
import { StoragePage } from './StoragePage';

afterEach(() => {
  resetStorageUploads();
});

const GiB = 2 ** 30;
const entry = (path: string, is_dir = false, size = 0) => ({
  name: path.split('/').pop()!,
  path,
  size,
  is_dir,
  modified_at: '2026-01-01T00:00:00Z',
});

const usage = (used = 1.5 * GiB, quota = 10 * GiB) => json(200, { region: 'local-1', used_bytes: used, quota_bytes: quota });

function listing(byPath: Record<string, ReturnType<typeof entry>[]>) {
  return (c: { url: string }) => {
    const p = new URL(c.url, 'http://x').searchParams.get('path') ?? '';
    const items = byPath[p];
    if (!items) return json(404, { code: 'not_found', message: 'no such folder' });
    return json(200, { items, next_cursor: '' });
  };
}

class FakeXhr {
  static all: FakeXhr[] = [];
  url = '';
  headers: Record<string, string> = {};
  status = 0;
  statusText = '';
  responseText = '';
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.all.push(this);
  }
  open(_m: string, url: string) {
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  getResponseHeader(k: string) {
    return k === 'Content-Type' ? 'application/json' : null;
  }
  send() {}
  abort() {
    this.onabort?.();
  }
  respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe('StoragePage', () => {
  it('lists folders first, opens a folder and walks back up the breadcrumb', async () => {
    const { calls, router } = renderPage(<StoragePage />, {
      path: '/storage',
      handlers: {
        'GET /api/v1/storage/usage': () => usage(),
        'GET /api/v1/storage/list': listing({
          '': [entry('b.txt', false, 2048), entry('data', true), entry('a.bin', false, 10)],
          data: [entry('data/sets', true)],
          'data/sets': [],
        }),
      },
    });
    const table = await screen.findByRole('table', { name: 'Files in your storage' });
    const names = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((r) => r.querySelector('.storage-name')?.textContent);
    expect(names).toEqual(['data', 'a.bin', 'b.txt']);
    expect(within(table).getByText('2 KB')).toBeTruthy();
    expect(screen.getByRole('meter', { name: 'Storage used' }).getAttribute('aria-valuetext')).toBe('1.5 GB of 10 GB used (15%)');

    fireEvent.click(within(table).getByRole('link', { name: 'Open folder data' }));
    await screen.findByRole('table', { name: 'Files in /data' });
    expect(router.state.location.search).toBe('?path=data');
    fireEvent.click(screen.getByRole('link', { name: 'Open folder sets' }));
    await screen.findByText('This folder is empty');
    const crumbs = screen.getByRole('navigation', { name: 'Folder' });
    expect(within(crumbs).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Storage', 'data', 'sets']);
    expect(within(crumbs).getByText('sets').getAttribute('aria-current')).toBe('page');
    fireEvent.click(within(crumbs).getByRole('link', { name: 'Storage' }));
    await screen.findByRole('table', { name: 'Files in your storage' });
    expect(calls.filter((c) => c.url.startsWith('/api/v1/storage/list')).map((c) => new URL(c.url, 'http://x').searchParams.get('path') ?? '')).toEqual(
      expect.arrayContaining(['', 'data', 'data/sets']),
    );
  });

  it('uploads picked files into the folder shown, with progress, and says a quota refusal with the figures', async () => {
    FakeXhr.all = [];
    setXhrFactory(() => new FakeXhr() as unknown as XMLHttpRequest);
    renderPage(<StoragePage />, {
      path: '/storage',
      url: '/storage?path=data',
      handlers: {
        'GET /api/v1/storage/usage': () => usage(),
        'GET /api/v1/storage/list': listing({ data: [] }),
      },
    });
    await screen.findByText('This folder is empty');
    const input = screen.getByTestId('upload-input') as HTMLInputElement;
    const files = [new File(['a'.repeat(1000)], 'one.txt'), new File(['bb'], 'two.txt'), new File(['c'], 'three.txt')];
    fireEvent.change(input, { target: { files } });
    await waitFor(() => expect(FakeXhr.all).toHaveLength(2));
    expect(FakeXhr.all.map((x) => new URL(x.url, 'http://x').searchParams.get('path'))).toEqual(['data/one.txt', 'data/two.txt']);
    expect(FakeXhr.all[0]!.headers.Authorization).toMatch(/^Bearer /);
    expect(screen.getByTestId('upload-summary').textContent).toBe('2 uploading, 1 waiting');

    FakeXhr.all[0]!.upload.onprogress!({ loaded: 250, total: 1000, lengthComputable: true } as ProgressEvent);
    const bar = await screen.findByRole('progressbar', { name: 'one.txt' });
    await waitFor(() => expect(bar.getAttribute('aria-valuenow')).toBe('25'));
    expect(screen.getAllByTestId('upload-row')[0]!.textContent).toContain('250 B of 1000 B · 25%');

    FakeXhr.all[1]!.respond(413, {
      code: 'storage_quota_exceeded',
      message: 'over quota',
      details: { used_bytes: 10 * GiB, quota_bytes: 10 * GiB },
    });
    await waitFor(() => expect(FakeXhr.all).toHaveLength(3));
    const failed = screen.getAllByTestId('upload-row')[1]!;
    await waitFor(() => expect(failed.getAttribute('data-status')).toBe('failed'));
    expect(failed.textContent).toContain('Not enough storage space for this file (2 B): 10 GB of your 10 GB quota is in use');

    fireEvent.click(screen.getByRole('button', { name: 'Cancel three.txt' }));
    await waitFor(() => expect(screen.getAllByTestId('upload-row')[2]!.getAttribute('data-status')).toBe('cancelled'));
    FakeXhr.all[0]!.respond(201, entry('data/one.txt', false, 1000));
    await waitFor(() => expect(screen.getAllByTestId('upload-row')[0]!.getAttribute('data-status')).toBe('done'));
    expect(screen.getByTestId('upload-summary').textContent).toBe('1 done, 1 failed');
  });

  it('deletes a folder recursively and a file without, after a confirmation naming it', async () => {
    let items = [entry('models', true), entry('notes.md', false, 300)];
    const { calls } = renderPage(<StoragePage />, {
      path: '/storage',
      handlers: {
        'GET /api/v1/storage/usage': () => usage(),
        'GET /api/v1/storage/list': () => json(200, { items, next_cursor: '' }),
        'DELETE /api/v1/storage/delete': (c) => {
          const p = new URL(c.url, 'http://x').searchParams.get('path');
          items = items.filter((e) => e.path !== p);
          return new Response(null, { status: 204 });
        },
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Delete models' }));
    let dialog = await screen.findByRole('dialog', { name: 'Delete this folder?' });
    expect(dialog.textContent).toContain('The folder models and everything in it are deleted');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete folder and contents' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    fireEvent.click(await screen.findByRole('button', { name: 'Delete notes.md' }));
    dialog = await screen.findByRole('dialog', { name: 'Delete this file?' });
    expect(dialog.textContent).toContain('notes.md (300 B) is deleted');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete file' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    const deletes = calls.filter((c) => c.method === 'DELETE').map((c) => c.url);
    expect(deletes).toEqual(['/api/v1/storage/delete?path=models&recursive=true', '/api/v1/storage/delete?path=notes.md']);
  });

  it('renames within the folder and says a clash in words', async () => {
    let n = 0;
    const { calls } = renderPage(<StoragePage />, {
      path: '/storage',
      url: '/storage?path=runs',
      handlers: {
        'GET /api/v1/storage/usage': () => usage(),
        'GET /api/v1/storage/list': listing({ runs: [entry('runs/old.log', false, 5)] }),
        'POST /api/v1/storage/rename': () =>
          ++n === 1 ? json(409, { code: 'conflict', message: 'exists' }) : json(200, entry('runs/new.log', false, 5)),
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Rename old.log' }));
    const dialog = await screen.findByRole('dialog', { name: 'Rename file' });
    const field = within(dialog).getByLabelText('New name');
    fireEvent.change(field, { target: { value: 'bad/name' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rename' }));
    expect(dialog.textContent).toContain('A name cannot contain “/”.');
    fireEvent.change(field, { target: { value: 'new.log' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rename' }));
    await within(dialog).findByText(/Something with this name is already in this folder/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rename' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.filter((c) => c.url === '/api/v1/storage/rename').map((c) => c.body)).toEqual([
      { from: 'runs/old.log', to: 'runs/new.log' },
      { from: 'runs/old.log', to: 'runs/new.log' },
    ]);
  });

  it('makes a folder inside the one shown', async () => {
    const { calls } = renderPage(<StoragePage />, {
      path: '/storage',
      url: '/storage?path=a',
      handlers: {
        'GET /api/v1/storage/usage': () => usage(),
        'GET /api/v1/storage/list': listing({ a: [] }),
        'POST /api/v1/storage/mkdir': () => json(201, entry('a/b', true)),
      },
    });
    await screen.findByText('This folder is empty');
    fireEvent.click(screen.getByRole('button', { name: 'New folder' }));
    const dialog = await screen.findByRole('dialog', { name: 'New folder' });
    fireEvent.change(within(dialog).getByLabelText('Folder name'), { target: { value: ' b ' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create folder' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.find((c) => c.url === '/api/v1/storage/mkdir')!.body).toEqual({ path: 'a/b' });
  });

  it('explains a server without storage instead of failing', async () => {
    renderPage(<StoragePage />, {
      path: '/storage',
      handlers: {
        'GET /api/v1/storage/usage': () => json(503, { code: 'storage_disabled', message: 'storage is not configured' }),
        'GET /api/v1/storage/list': () => json(503, { code: 'storage_disabled', message: 'storage is not configured' }),
      },
    });
    expect(await screen.findByText('Storage is not set up on this server')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Upload files' })).toBeNull();
  });

  it('says a missing folder and offers the way up', async () => {
    renderPage(<StoragePage />, {
      path: '/storage',
      url: '/storage?path=gone/deeper',
      handlers: {
        'GET /api/v1/storage/usage': () => usage(),
        'GET /api/v1/storage/list': listing({ gone: [] }),
      },
    });
    expect(await screen.findByText(/This folder does not exist/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Up one folder' }));
    expect(await screen.findByText('This folder is empty')).toBeTruthy();
  });

  it("acting for a team, lists and uploads the team's files", async () => {
    localStorage.setItem('gpuaas.account', 'lab');
    try {
      FakeXhr.all = [];
      setXhrFactory(() => new FakeXhr() as unknown as XMLHttpRequest);
      const { calls } = renderPage(<StoragePage />, {
        path: '/storage',
        handlers: {
          'GET /api/v1/teams': () =>
            json(200, {
              items: [{ id: '00000000-0000-4000-8000-00000000000a', slug: 'lab', name: 'Lab', role: 'member', member_count: 2, created_at: '2026-01-01T00:00:00Z' }],
              next_cursor: '',
            }),
          'GET /api/v1/storage/usage': () => usage(),
          'GET /api/v1/storage/list': listing({ '': [] }),
        },
      });
      await screen.findByText("Team Lab's files, shared by its members and kept between allocations.");
      await waitFor(() =>
        expect(calls.some((c) => c.url.startsWith('/api/v1/storage/list') && new URL(c.url, 'http://x').searchParams.get('team') === 'lab')).toBe(true),
      );
      fireEvent.change(screen.getByTestId('upload-input'), { target: { files: [new File(['x'], 'shared.txt')] } });
      await waitFor(() => expect(FakeXhr.all).toHaveLength(1));
      expect(new URL(FakeXhr.all[0]!.url, 'http://x').searchParams.get('team')).toBe('lab');
    } finally {
      localStorage.removeItem('gpuaas.account');
    }
  });
});
