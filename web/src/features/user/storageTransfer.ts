// Moving file bytes to and from the storage API with the session's token.
//
// Upload: PUT /api/v1/storage/upload?path= with the file as the raw body,
// through XMLHttpRequest because fetch cannot report upload progress. The
// token goes in the Authorization header as for every call; a 401 gets one
// refresh and one retry (the whole file again), like api.* calls.
//
// Download: GET /api/v1/storage/download?path= through the same authenticated
// fetch as every call (the token never goes in a URL). The body is read as a
// stream so progress can be shown; where the browser can write a stream
// straight to a file the person picks (the File System Access API, Chromium),
// a large file goes there without being held in memory; elsewhere it is
// collected into a Blob and handed to the browser as a download.
import { buildUrl, send } from '../../api/client';
import { ApiError } from '../../api/errors';
import type { components } from '../../api/schema';
import { freshAccessToken, getAccessToken, notifySessionExpired, refreshSession } from '../../api/session';

export type StorageEntry = components['schemas']['StorageEntry'];

export interface Progress {
  loaded: number;
  /** Bytes in all; null when the server did not say (a download without Content-Length). */
  total: number | null;
}

export interface UploadOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** A team's slug: the file goes to the team's storage (the account the console acted for when it was queued). */
  team?: string;
}

/** Anything with XMLHttpRequest's shape; tests swap in a fake. */
type XhrFactory = () => XMLHttpRequest;
let makeXhr: XhrFactory = () => new XMLHttpRequest();

export function setXhrFactory(f: XhrFactory): void {
  makeXhr = f;
}

function abortError(): DOMException {
  return new DOMException('The upload was cancelled.', 'AbortError');
}

async function errorFromXhr(xhr: XMLHttpRequest): Promise<ApiError> {
  const headers = new Headers();
  for (const h of ['X-Request-ID', 'Retry-After', 'Content-Type']) {
    const v = xhr.getResponseHeader(h);
    if (v) headers.set(h, v);
  }
  const status = xhr.status >= 200 && xhr.status <= 599 ? xhr.status : 500;
  return ApiError.fromResponse(new Response(xhr.responseText || null, { status, statusText: xhr.statusText, headers }));
}

interface XhrResult {
  status: number;
  xhr: XMLHttpRequest;
}

function putOnce(url: string, body: Blob, token: string, opts: UploadOptions): Promise<XhrResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError());
    const xhr = makeXhr();
    const onAbort = () => xhr.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => opts.signal?.removeEventListener('abort', onAbort);
    xhr.open('PUT', url);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e: ProgressEvent) => {
      opts.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : body.size });
    };
    xhr.onload = () => {
      done();
      resolve({ status: xhr.status, xhr });
    };
    xhr.onerror = () => {
      done();
      reject(ApiError.network(new Error('The upload did not reach the server.')));
    };
    xhr.onabort = () => {
      done();
      reject(abortError());
    };
    xhr.send(body);
  });
}

/** Uploads one file to path; resolves with the stored entry, rejects with ApiError (or an AbortError when cancelled). */
export async function uploadFile(path: string, file: Blob, opts: UploadOptions = {}): Promise<StorageEntry> {
  const url = buildUrl('/api/v1/storage/upload', { query: { path, ...(opts.team ? { team: opts.team } : {}) } });
  let token = await freshAccessToken();
  if (token === null) {
    notifySessionExpired();
    throw new ApiError({ status: 401, code: 'unauthorized', message: 'You are not signed in.' });
  }
  let r = await putOnce(url, file, token, opts);
  if (r.status === 401 && (await refreshSession())) {
    token = getAccessToken() ?? token;
    opts.onProgress?.({ loaded: 0, total: file.size });
    r = await putOnce(url, file, token, opts);
  }
  if (r.status >= 200 && r.status < 300) {
    opts.onProgress?.({ loaded: file.size, total: file.size });
    try {
      return JSON.parse(r.xhr.responseText) as StorageEntry;
    } catch {
      return { name: path.split('/').pop() ?? path, path, size: file.size, is_dir: false, modified_at: new Date().toISOString() };
    }
  }
  const err = await errorFromXhr(r.xhr);
  if (r.status === 401 || err.code === 'account_suspended') notifySessionExpired();
  throw err;
}

/** Over this, a download goes straight to a file where the browser allows it, not through memory. */
export const STREAM_TO_DISK_BYTES = 256 * 1024 * 1024;

interface SaveFilePicker {
  (opts: { suggestedName?: string }): Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

function savePicker(): SaveFilePicker | undefined {
  const w = globalThis as unknown as { showSaveFilePicker?: SaveFilePicker };
  return typeof w.showSaveFilePicker === 'function' ? w.showSaveFilePicker.bind(globalThis) : undefined;
}

export interface DownloadOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** A team's slug: the file is the team's. */
  team?: string;
}

/**
 * Downloads the entry's file. Resolves true when saved, false when the person
 * closed the save dialog; rejects with ApiError.
 */
export async function downloadFile(entry: Pick<StorageEntry, 'path' | 'name' | 'size'>, opts: DownloadOptions = {}): Promise<boolean> {
  // The save dialog must open while the click still counts as the person's
  // gesture, so before the request.
  const picker = entry.size >= STREAM_TO_DISK_BYTES ? savePicker() : undefined;
  let sink: WritableStream<Uint8Array> | undefined;
  if (picker) {
    try {
      sink = await (await picker({ suggestedName: entry.name })).createWritable();
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return false;
      sink = undefined; // No permission or not supported here: fall back to memory.
    }
  }
  const res = await send('get', '/api/v1/storage/download', {
    query: { path: entry.path, ...(opts.team ? { team: opts.team } : {}) },
    headers: { Accept: '*/*' },
    signal: opts.signal,
  });
  const length = Number(res.headers.get('Content-Length'));
  const total = Number.isFinite(length) && length > 0 ? length : entry.size || null;
  let loaded = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      loaded += chunk.byteLength;
      opts.onProgress?.({ loaded, total });
      ctl.enqueue(chunk);
    },
  });
  const body = res.body ? res.body.pipeThrough(counter) : null;
  if (sink && body) {
    await body.pipeTo(sink, { signal: opts.signal });
    return true;
  }
  const type = res.headers.get('Content-Type') ?? 'application/octet-stream';
  const blob = body ? await new Response(body, { headers: { 'Content-Type': type } }).blob() : await res.blob();
  saveBlob(blob, entry.name);
  return true;
}

/** Hands a Blob to the browser as a file download. */
export function saveBlob(blob: Blob, name: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30_000);
}
