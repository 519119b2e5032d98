// The files of a drop or a file picker, with their paths relative to where
// they were dropped: a dropped folder keeps its tree ("photos/2024/a.jpg")
// where the browser exposes it (webkitGetAsEntry, in every current browser);
// otherwise only the top-level files come through.

export interface PickedFile {
  file: File;
  /** Relative to the folder shown: the name, or the path inside a dropped folder. */
  relPath: string;
}

interface FsEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
  file?: (ok: (f: File) => void, fail: (e: unknown) => void) => void;
  createReader?: () => { readEntries: (ok: (es: FsEntry[]) => void, fail: (e: unknown) => void) => void };
}

async function walk(entry: FsEntry, prefix: string, out: PickedFile[]): Promise<void> {
  const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile && entry.file) {
    const f = await new Promise<File>((ok, fail) => entry.file!(ok, fail));
    out.push({ file: f, relPath: rel });
  } else if (entry.isDirectory && entry.createReader) {
    const reader = entry.createReader();
    // readEntries answers in batches until an empty one.
    for (;;) {
      const batch = await new Promise<FsEntry[]>((ok, fail) => reader.readEntries(ok, fail));
      if (batch.length === 0) break;
      for (const e of batch) await walk(e, rel, out);
    }
  }
}

/** Reads a drop's files and folders. Call it in the drop handler itself (the items vanish after it returns). */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<PickedFile[]> {
  const items = Array.from(dt.items ?? []).filter((i) => i.kind === 'file');
  const entries = items.map((i) =>
    typeof (i as { webkitGetAsEntry?: () => unknown }).webkitGetAsEntry === 'function'
      ? ((i as unknown as { webkitGetAsEntry: () => FsEntry | null }).webkitGetAsEntry() ?? null)
      : null,
  );
  const files = Array.from(dt.files ?? []);
  if (entries.length === 0 || entries.some((e) => e === null)) {
    return files.map((f) => ({ file: f, relPath: f.name }));
  }
  const out: PickedFile[] = [];
  for (const e of entries) await walk(e as FsEntry, '', out);
  return out;
}

/** A file input's files; a folder picked with webkitdirectory keeps its tree. */
export function filesFromInput(list: FileList | null): PickedFile[] {
  return Array.from(list ?? []).map((f) => ({ file: f, relPath: f.webkitRelativePath || f.name }));
}
