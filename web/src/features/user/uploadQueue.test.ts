import { afterEach, describe, expect, it } from 'vitest';
import { setTokens } from '../../api/session';
import { describeError, type ApiError } from '../../api/errors';
import { percentOf, queueSummary, UploadQueue, type Uploader } from './uploadQueue';
import { setXhrFactory, uploadFile, type Progress } from './storageTransfer';

/** An uploader whose calls the test finishes by hand. */
function manualUploader() {
  const calls: {
    path: string;
    size: number;
    progress: (p: Progress) => void;
    resolve: () => void;
    reject: (e: unknown) => void;
    signal: AbortSignal;
  }[] = [];
  const upload: Uploader = (path, file, opts) =>
    new Promise((resolve, reject) => {
      opts.signal.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')));
      calls.push({
        path,
        size: file.size,
        progress: opts.onProgress,
        resolve: () => resolve({ name: path, path, size: file.size, is_dir: false, modified_at: '2026-01-01T00:00:00Z' }),
        reject,
        signal: opts.signal,
      });
    });
  return { upload, calls };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const blob = (n: number) => new Blob([new Uint8Array(n)]);

describe('UploadQueue', () => {
  it('uploads two at a time, in order, and starts the next when one ends', async () => {
    const { upload, calls } = manualUploader();
    const settled: string[] = [];
    const q = new UploadQueue(upload, { onSettled: (i) => settled.push(`${i.path}:${i.status}`) });
    q.add(['a', 'b', 'c', 'd'].map((n) => ({ path: `dir/${n}`, file: blob(10) })));
    expect(calls.map((c) => c.path)).toEqual(['dir/a', 'dir/b']);
    expect(q.items().map((i) => i.status)).toEqual(['uploading', 'uploading', 'queued', 'queued']);

    calls[1]!.resolve();
    await tick();
    expect(calls.map((c) => c.path)).toEqual(['dir/a', 'dir/b', 'dir/c']);
    expect(q.items().filter((i) => i.status === 'uploading')).toHaveLength(2);
    expect(settled).toEqual(['dir/b:done']);

    calls[0]!.resolve();
    calls[2]!.resolve();
    await tick();
    calls[3]!.resolve();
    await tick();
    expect(q.items().map((i) => i.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(queueSummary(q.items())).toBe('4 done');
  });

  it('reports progress per file as bytes and whole percent', async () => {
    const { upload, calls } = manualUploader();
    const q = new UploadQueue(upload);
    let changes = 0;
    q.subscribe(() => changes++);
    q.add([{ path: 'big.bin', file: blob(1000) }]);
    calls[0]!.progress({ loaded: 333, total: 1000 });
    const item = q.items()[0]!;
    expect(item.loaded).toBe(333);
    expect(percentOf(item)).toBe(33);
    expect(changes).toBeGreaterThanOrEqual(3);
    expect(queueSummary(q.items())).toBe('1 uploading');
  });

  it('cancels a running upload (its slot goes to the next) and a queued one', async () => {
    const { upload, calls } = manualUploader();
    const q = new UploadQueue(upload, { concurrency: 1 });
    const [a, b, c] = q.add([{ path: 'a', file: blob(1) }, { path: 'b', file: blob(1) }, { path: 'c', file: blob(1) }]);
    q.cancel(b!);
    q.cancel(a!);
    expect(calls[0]!.signal.aborted).toBe(true);
    await tick();
    expect(q.items().map((i) => i.status)).toEqual(['cancelled', 'cancelled', 'uploading']);
    expect(calls.map((x) => x.path)).toEqual(['a', 'c']);
    q.retry(a!);
    calls[1]!.resolve();
    await tick();
    expect(calls.map((x) => x.path)).toEqual(['a', 'c', 'a']);
    void c;
  });

  it('keeps a failure on its file, in plain words, and retries it', async () => {
    const { upload, calls } = manualUploader();
    const q = new UploadQueue(upload);
    const [id] = q.add([{ path: 'x', file: blob(5) }]);
    const { ApiError } = await import('../../api/errors');
    calls[0]!.reject(
      new ApiError({ status: 413, code: 'storage_quota_exceeded', message: 'over', details: { used_bytes: 1024, quota_bytes: 2048 } }),
    );
    await tick();
    const failed = q.items()[0]!;
    expect(failed.status).toBe('failed');
    expect(describeError(failed.error as ApiError)).toContain('1 KB of your 2 KB quota');
    q.retry(id!);
    expect(q.items()[0]!.status).toBe('uploading');
    q.clearFinished();
    expect(q.items()).toHaveLength(1);
  });
});

/** Just enough of XMLHttpRequest for uploadFile. */
class FakeXhr {
  static all: FakeXhr[] = [];
  method = '';
  url = '';
  headers: Record<string, string> = {};
  status = 0;
  statusText = '';
  responseText = '';
  responseHeaders: Record<string, string> = {};
  body: unknown;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.all.push(this);
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  getResponseHeader(k: string) {
    return this.responseHeaders[k] ?? null;
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent);
  }
  respond(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.responseHeaders = { 'Content-Type': 'application/json', ...headers };
    this.onload?.();
  }
}

describe('uploadFile', () => {
  afterEach(() => {
    FakeXhr.all = [];
  });

  it('PUTs the raw file with the bearer token and reports upload progress', async () => {
    setTokens({ access_token: 'tok-1', expires_in: 900 });
    setXhrFactory(() => new FakeXhr() as unknown as XMLHttpRequest);
    const seen: number[] = [];
    const file = blob(200);
    const p = uploadFile('data/a b.txt', file, { onProgress: (x) => seen.push(x.loaded) });
    await tick();
    const x = FakeXhr.all[0]!;
    expect(x.method).toBe('PUT');
    expect(x.url).toBe('/api/v1/storage/upload?path=data%2Fa+b.txt');
    expect(x.headers.Authorization).toBe('Bearer tok-1');
    expect(x.body).toBe(file);
    x.progress(50, 200);
    x.respond(201, { name: 'a b.txt', path: 'data/a b.txt', size: 200, is_dir: false, modified_at: '2026-01-01T00:00:00Z' });
    expect((await p).path).toBe('data/a b.txt');
    expect(seen).toEqual([50, 200]);
  });

  it('turns a 413 into an ApiError with the quota figures and the request id', async () => {
    setTokens({ access_token: 'tok-1', expires_in: 900 });
    setXhrFactory(() => new FakeXhr() as unknown as XMLHttpRequest);
    const p = uploadFile('big.bin', blob(10));
    await tick();
    FakeXhr.all[0]!.respond(
      413,
      { code: 'storage_quota_exceeded', message: 'quota', details: { used_bytes: 5 * 2 ** 30, quota_bytes: 5 * 2 ** 30 } },
      { 'X-Request-ID': 'req-413' },
    );
    const err = (await p.catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(413);
    expect(err.correlationId).toBe('req-413');
    expect(describeError(err)).toBe(
      'Not enough storage space: 5 GB of your 5 GB quota is in use. Delete some files, or ask an administrator for more space.',
    );
  });

  it('rejects with an AbortError when cancelled', async () => {
    setTokens({ access_token: 'tok-1', expires_in: 900 });
    setXhrFactory(() => new FakeXhr() as unknown as XMLHttpRequest);
    const ctl = new AbortController();
    const p = uploadFile('x', blob(1), { signal: ctl.signal });
    await tick();
    ctl.abort();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('AbortError');
  });
});
