// The upload queue of the Storage page: files wait their turn and at most
// `concurrency` (2) upload at once, each with its own progress, cancel,
// error and retry. It knows nothing of React or HTTP: the page hands it the
// upload function (storageTransfer.uploadFile) and subscribes to changes.
import { toApiError, type ApiError } from '../../api/errors';
import type { Progress, StorageEntry } from './storageTransfer';

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

export interface UploadItem {
  id: number;
  /** Where it goes in the namespace (the folder shown when it was added, plus its name or relative path). */
  path: string;
  /** The team whose namespace it goes to, when the console acted for one as it was added. */
  team?: string;
  name: string;
  size: number;
  status: UploadStatus;
  loaded: number;
  error?: ApiError;
}

export type Uploader = (
  path: string,
  file: Blob,
  opts: { onProgress: (p: Progress) => void; signal: AbortSignal; team?: string },
) => Promise<StorageEntry>;

interface Job {
  item: UploadItem;
  file: Blob;
  ctl?: AbortController;
}

export class UploadQueue {
  private jobs: Job[] = [];
  private listeners = new Set<() => void>();
  private snapshot: UploadItem[] = [];
  private nextId = 1;

  constructor(
    private readonly upload: Uploader,
    private readonly opts: {
      concurrency?: number;
      /** After each finished file (done or failed): the page refreshes the folder and the usage. */
      onSettled?: (item: UploadItem) => void;
    } = {},
  ) {}

  get concurrency(): number {
    return this.opts.concurrency ?? 2;
  }

  /** The items, oldest first; a new array after every change (for useSyncExternalStore). */
  items = (): UploadItem[] => this.snapshot;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** Queues files; returns their ids. */
  add(files: { path: string; file: Blob; name?: string; team?: string }[]): number[] {
    const ids: number[] = [];
    for (const f of files) {
      const id = this.nextId++;
      ids.push(id);
      this.jobs.push({
        file: f.file,
        item: {
          id,
          path: f.path,
          ...(f.team ? { team: f.team } : {}),
          name: f.name ?? f.path.split('/').pop() ?? f.path,
          size: f.file.size,
          status: 'queued',
          loaded: 0,
        },
      });
    }
    this.changed();
    this.pump();
    return ids;
  }

  /** Stops an upload (or takes it out of the queue); the server keeps nothing of a cut-off upload. */
  cancel(id: number): void {
    const job = this.jobs.find((j) => j.item.id === id);
    if (!job) return;
    if (job.item.status === 'queued') {
      job.item = { ...job.item, status: 'cancelled' };
      this.changed();
    } else if (job.item.status === 'uploading') {
      job.ctl?.abort();
    }
  }

  /** Cancels everything not finished. */
  cancelAll(): void {
    for (const j of this.jobs) this.cancel(j.item.id);
  }

  /** Queues a failed or cancelled file again. */
  retry(id: number): void {
    const job = this.jobs.find((j) => j.item.id === id);
    if (!job || (job.item.status !== 'failed' && job.item.status !== 'cancelled')) return;
    // To the back of the queue, as a new arrival.
    this.jobs = [...this.jobs.filter((j) => j !== job), job];
    job.item = { ...job.item, status: 'queued', loaded: 0, error: undefined };
    this.changed();
    this.pump();
  }

  /** Forgets the finished, failed and cancelled items. */
  clearFinished(): void {
    this.jobs = this.jobs.filter((j) => j.item.status === 'queued' || j.item.status === 'uploading');
    this.changed();
  }

  private running(): number {
    return this.jobs.filter((j) => j.item.status === 'uploading').length;
  }

  private pump(): void {
    while (this.running() < this.concurrency) {
      const next = this.jobs.find((j) => j.item.status === 'queued');
      if (!next) return;
      void this.start(next);
    }
  }

  private async start(job: Job): Promise<void> {
    const ctl = new AbortController();
    job.ctl = ctl;
    job.item = { ...job.item, status: 'uploading', loaded: 0 };
    this.changed();
    try {
      await this.upload(job.item.path, job.file, {
        signal: ctl.signal,
        team: job.item.team,
        onProgress: (p) => {
          if (job.item.status !== 'uploading') return;
          job.item = { ...job.item, loaded: Math.min(p.loaded, job.item.size) };
          this.changed();
        },
      });
      job.item = { ...job.item, status: 'done', loaded: job.item.size };
    } catch (err) {
      job.item = ctl.signal.aborted
        ? { ...job.item, status: 'cancelled' }
        : { ...job.item, status: 'failed', error: toApiError(err) };
    }
    job.ctl = undefined;
    this.changed();
    if (job.item.status !== 'cancelled') this.opts.onSettled?.(job.item);
    this.pump();
  }

  private changed(): void {
    this.snapshot = this.jobs.map((j) => j.item);
    for (const fn of this.listeners) fn();
  }
}

/** Whole percent of an item, 0–100 (an empty file is 100 once done). */
export function percentOf(item: Pick<UploadItem, 'loaded' | 'size' | 'status'>): number {
  if (item.status === 'done') return 100;
  if (item.size <= 0) return 0;
  return Math.min(100, Math.floor((item.loaded / item.size) * 100));
}

/** "2 uploading, 3 waiting, 1 failed" for the live summary; "" when nothing is in the queue. */
export function queueSummary(items: UploadItem[]): string {
  const count = (s: UploadStatus) => items.filter((i) => i.status === s).length;
  const parts: string[] = [];
  const up = count('uploading');
  const waiting = count('queued');
  const done = count('done');
  const failed = count('failed');
  if (up) parts.push(`${up} uploading`);
  if (waiting) parts.push(`${waiting} waiting`);
  if (done) parts.push(`${done} done`);
  if (failed) parts.push(`${failed} failed`);
  return parts.join(', ');
}
