import { describe, expect, it, vi } from 'vitest';
import { setFetch } from '../../api/client';
import { setTokens } from '../../api/session';
import { downloadFile } from './storageTransfer';

describe('downloadFile', () => {
  it('reads the file with the bearer token as a stream, reports progress and saves it under its name', async () => {
    setTokens({ access_token: 'tok-d', expires_in: 900 });
    const bytes = new TextEncoder().encode('hello storage');
    let seen: { url: string; auth: string } | null = null;
    setFetch((async (input: RequestInfo | URL, init?: RequestInit) => {
      seen = { url: String(input), auth: (init?.headers as Record<string, string>).Authorization ?? '' };
      return new Response(bytes, { status: 200, headers: { 'Content-Length': String(bytes.length), 'Content-Type': 'text/plain' } });
    }) as typeof fetch);
    let saved: Blob | null = null;
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: (b: Blob) => ((saved = b), 'blob:x'), revokeObjectURL: () => {} }));
    const clicks: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this.download);
    });
    const progress: number[] = [];
    const ok = await downloadFile({ path: 'data/a b.txt', name: 'a b.txt', size: bytes.length }, { onProgress: (p) => progress.push(p.loaded) });
    expect(ok).toBe(true);
    expect(seen).toEqual({ url: '/api/v1/storage/download?path=data%2Fa+b.txt', auth: 'Bearer tok-d' });
    expect(clicks).toEqual(['a b.txt']);
    expect(Array.from(new Uint8Array(await saved!.arrayBuffer()))).toEqual(Array.from(bytes));
    expect(progress.at(-1)).toBe(bytes.length);
    click.mockRestore();
  });

  it('throws the API error (a missing file) without saving anything', async () => {
    setTokens({ access_token: 'tok-d', expires_in: 900 });
    setFetch((async () =>
      new Response(JSON.stringify({ code: 'not_found', message: 'no such file' }), { status: 404 })) as typeof fetch);
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click');
    await expect(downloadFile({ path: 'gone', name: 'gone', size: 1 })).rejects.toMatchObject({ code: 'not_found' });
    expect(click).not.toHaveBeenCalled();
    click.mockRestore();
  });
});
