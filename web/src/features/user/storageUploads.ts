// The console's one upload queue. It lives outside the page so uploads keep
// going (and stay listed) while the person looks at another screen; the
// Storage page shows it, and whoever listens hears each finished file (the
// page refreshes the folder and the usage, and announces it).
import { uploadFile } from './storageTransfer';
import { UploadQueue, type UploadItem } from './uploadQueue';

let queue: UploadQueue | null = null;
let guarded = false;
const settledListeners = new Set<(item: UploadItem) => void>();

export function storageUploads(): UploadQueue {
  if (!queue) {
    queue = new UploadQueue((path, file, opts) => uploadFile(path, file, opts), {
      concurrency: 2,
      onSettled: (item) => settledListeners.forEach((fn) => fn(item)),
    });
    // Closing or reloading the tab cuts the uploads off: the browser asks first.
    if (!guarded && typeof window !== 'undefined') {
      guarded = true;
      window.addEventListener('beforeunload', (e) => {
        if (uploadsActive()) e.preventDefault();
      });
    }
  }
  return queue;
}

export function onUploadSettled(fn: (item: UploadItem) => void): () => void {
  settledListeners.add(fn);
  return () => settledListeners.delete(fn);
}

/** Whether anything is still uploading or waiting (the page warns before the tab closes). */
export function uploadsActive(): boolean {
  return storageUploads()
    .items()
    .some((i) => i.status === 'queued' || i.status === 'uploading');
}

/** Stops every upload and forgets the queue (the signed-in user changed; tests start afresh). Listeners stay. */
export function resetStorageUploads(): void {
  const q = queue;
  queue = null;
  q?.cancelAll();
}
