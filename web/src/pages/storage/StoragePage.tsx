// Storage: the files kept for you on the platform, between allocations.
// Browse folders (the folder is in the URL, ?path=a/b, so Back and links
// work), upload with progress (a button, or drag and drop of many files and
// folders; two at a time, each with its bytes, percent, cancel and error),
// download, make folders, rename, delete with a confirmation naming the item
// (a folder with everything in it), and the usage against the quota.
//
// A server without storage configured answers 503 storage_disabled: the page
// then says so in words instead of showing a list.
import { useEffect, useRef, useState, useSyncExternalStore, type DragEvent, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { teamQuery, useAccount } from '../../app/account';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { toApiError } from '../../api/errors';
import { invalidate, useGet, useMutate } from '../../api/query';
import { useAnnounce } from '../../components/Announcer';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { ApiFieldError, ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Icon } from '../../components/Icon';
import { Modal } from '../../components/Modal';
import { Card, Page } from '../../components/Page';
import { Pagination, useCursorPager } from '../../components/Pagination';
import { Empty, Loading } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { UsageBar } from '../../components/UsageBar';
import { filesFromDataTransfer, filesFromInput, type PickedFile } from '../../features/user/dropFiles';
import { describeStorageError } from '../../features/user/storageErrors';
import { breadcrumbs, joinPath, nameProblem, parentPath, pathFromQuery } from '../../features/user/storagePaths';
import { downloadFile, type StorageEntry } from '../../features/user/storageTransfer';
import { percentOf, queueSummary, type UploadItem } from '../../features/user/uploadQueue';
import { onUploadSettled, storageUploads } from '../../features/user/storageUploads';
import { formatBytes, formatDateTime } from '../../lib/format';
import '../../features/user/user.css';

const STORAGE = '/api/v1/storage';

export function StoragePage() {
  const [params, setParams] = useSearchParams();
  const dir = pathFromQuery(params.get('path'));
  const { team, current } = useAccount();
  const usage = useGet('/api/v1/storage/usage', { query: teamQuery(team) });
  const disabled = usage.error?.code === 'storage_disabled';
  const [creating, setCreating] = useState(false);
  const open = (p: string) => setParams(p ? { path: p } : {});
  const qc = useQueryClient();
  const announce = useAnnounce();
  useEffect(
    () =>
      onUploadSettled((item) => {
        void invalidate(qc, STORAGE);
        announce(
          item.status === 'done'
            ? `${item.name} uploaded`
            : `${item.name} failed: ${item.error ? describeStorageError(item.error, 'upload', item.size) : 'the upload did not finish'}`,
        );
      }),
    [qc, announce],
  );

  return (
    <Page
      title="Storage"
      subtitle={
        current
          ? `Team ${current.name}'s files, shared by its members and kept between allocations.`
          : 'Your files, kept on the platform between allocations.'
      }
      actions={
        disabled ? undefined : (
          <>
            <button type="button" className="button" onClick={() => setCreating(true)}>
              New folder
            </button>
            <UploadButtons dir={dir} />
          </>
        )
      }
    >
      {disabled ? (
        <StorageDisabled />
      ) : (
        <>
          <Card title="Space" className="storage-usage">
            {usage.data ? (
              <UsageBar used={usage.data.used_bytes} quota={usage.data.quota_bytes} />
            ) : usage.error ? (
              <ErrorBox error={usage.error} onRetry={() => void usage.reload()} compact />
            ) : (
              <Loading label="Loading your usage…" />
            )}
          </Card>
          <Uploads />
          <Breadcrumb dir={dir} onOpen={open} />
          <Folder key={dir} dir={dir} onOpen={open} />
        </>
      )}
      {creating && <NewFolderDialog dir={dir} onClose={() => setCreating(false)} />}
    </Page>
  );
}

function StorageDisabled() {
  return (
    <Card>
      <Empty
        title="Storage is not set up on this server"
        hint={
          <>
            Files you keep here would stay between allocations, but an operator has to configure storage first (the
            server’s <code>--storage-fs-root</code> or <code>--storage-config</code>). Everything else, allocations and
            their terminals, works without it.
          </>
        }
      />
    </Card>
  );
}

function Breadcrumb({ dir, onOpen }: { dir: string; onOpen: (p: string) => void }) {
  const crumbs = breadcrumbs(dir);
  return (
    <nav className="storage-crumbs" aria-label="Folder">
      <ol>
        {crumbs.map((c, i) => (
          <li key={c.path}>
            {i === crumbs.length - 1 ? (
              <span aria-current="page">{c.label}</span>
            ) : (
              <Link
                to={c.path ? `/storage?path=${encodeURIComponent(c.path)}` : '/storage'}
                onClick={(e) => {
                  e.preventDefault();
                  onOpen(c.path);
                }}
              >
                {c.label}
              </Link>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** Folders first, then by name (the server sorts so too; this keeps it true for a page read while things change). */
export function sortEntries(items: StorageEntry[]): StorageEntry[] {
  return [...items].sort((a, b) => (a.is_dir === b.is_dir ? a.name.localeCompare(b.name) : a.is_dir ? -1 : 1));
}

function useUploads(): UploadItem[] {
  const q = storageUploads();
  return useSyncExternalStore(q.subscribe, q.items, q.items);
}

/** Adds picked or dropped files under dir to the queue, for the account acted for now (team or own). */
function enqueue(dir: string, files: PickedFile[], team: string | undefined): void {
  if (files.length === 0) return;
  storageUploads().add(files.map((f) => ({ path: joinPath(dir, f.relPath), file: f.file, name: f.relPath, team })));
}

function UploadButtons({ dir }: { dir: string }) {
  const { team } = useAccount();
  const filesRef = useRef<HTMLInputElement>(null);
  const folderRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // Not in React's types; lets the picker choose a whole folder.
    folderRef.current?.setAttribute('webkitdirectory', '');
  }, []);
  return (
    <>
      <input
        ref={filesRef}
        type="file"
        multiple
        hidden
        data-testid="upload-input"
        aria-label="Files to upload"
        onChange={(e) => {
          enqueue(dir, filesFromInput(e.target.files), team);
          e.target.value = '';
        }}
      />
      <input
        ref={folderRef}
        type="file"
        hidden
        aria-label="Folder to upload"
        onChange={(e) => {
          enqueue(dir, filesFromInput(e.target.files), team);
          e.target.value = '';
        }}
      />
      <button type="button" className="button hide-mobile" onClick={() => folderRef.current?.click()}>
        Upload folder
      </button>
      <button type="button" className="button primary" onClick={() => filesRef.current?.click()}>
        Upload files
      </button>
    </>
  );
}

function Uploads() {
  const items = useUploads();
  const q = storageUploads();
  if (items.length === 0) return null;
  const active = items.some((i) => i.status === 'queued' || i.status === 'uploading');
  const finished = items.some((i) => i.status !== 'queued' && i.status !== 'uploading');
  return (
    <Card
      title="Uploads"
      className="storage-uploads"
      actions={
        <>
          {active && (
            <button type="button" className="button small" onClick={() => q.cancelAll()}>
              Cancel all
            </button>
          )}
          {finished && (
            <button type="button" className="button small" onClick={() => q.clearFinished()}>
              Clear finished
            </button>
          )}
        </>
      }
    >
      <p className="muted storage-upload-summary" data-testid="upload-summary">
        {queueSummary(items)}
      </p>
      <ul className="upload-list" aria-label="Uploads">
        {items.map((i) => (
          <UploadRow key={i.id} item={i} />
        ))}
      </ul>
    </Card>
  );
}

const STATUS_WORDS: Record<UploadItem['status'], string> = {
  queued: 'Waiting',
  uploading: 'Uploading',
  done: 'Uploaded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function UploadRow({ item }: { item: UploadItem }) {
  const q = storageUploads();
  const pct = percentOf(item);
  const labelId = `upload-${item.id}-name`;
  return (
    <li className={`upload-row upload-${item.status}`} data-testid="upload-row" data-status={item.status}>
      <div className="upload-row-head">
        <span id={labelId} className="storage-name" title={item.path}>
          {item.name}
        </span>
        <span className="upload-figures">
          {STATUS_WORDS[item.status]}
          {item.status === 'uploading' || item.status === 'done'
            ? ` · ${formatBytes(item.loaded)} of ${formatBytes(item.size)} · ${pct}%`
            : ` · ${formatBytes(item.size)}`}
        </span>
      </div>
      {(item.status === 'uploading' || item.status === 'queued' || item.status === 'done') && (
        <div
          className="progress"
          role="progressbar"
          aria-labelledby={labelId}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          aria-valuetext={`${formatBytes(item.loaded)} of ${formatBytes(item.size)}, ${pct}%`}
        >
          <div className="progress-fill" style={{ width: `${pct}%` }} />
        </div>
      )}
      {item.status === 'failed' && item.error && (
        <p className="field-error upload-error" data-code={item.error.code}>
          {describeStorageError(item.error, 'upload', item.size)}
        </p>
      )}
      <div className="upload-actions">
        {(item.status === 'uploading' || item.status === 'queued') && (
          <button type="button" className="button small" onClick={() => q.cancel(item.id)} aria-label={`Cancel ${item.name}`}>
            Cancel
          </button>
        )}
        {(item.status === 'failed' || item.status === 'cancelled') && (
          <button type="button" className="button small" onClick={() => q.retry(item.id)} aria-label={`Retry ${item.name}`}>
            Retry
          </button>
        )}
      </div>
    </li>
  );
}

function Folder({ dir, onOpen }: { dir: string; onOpen: (p: string) => void }) {
  const pager = useCursorPager();
  const { team } = useAccount();
  const list = useGet('/api/v1/storage/list', { query: { path: dir, cursor: pager.cursor, page_size: 200, ...teamQuery(team) } });
  const qc = useQueryClient();
  const toast = useToast();
  const announce = useAnnounce();
  const [dragging, setDragging] = useState(false);
  const [renaming, setRenaming] = useState<StorageEntry | null>(null);
  const [deleting, setDeleting] = useState<StorageEntry | null>(null);
  const [downloads, setDownloads] = useState<Record<string, number | null>>({});

  const del = useMutate(
    (e: StorageEntry) =>
      api
        .delete('/api/v1/storage/delete', { query: { path: e.path, recursive: e.is_dir ? true : undefined, ...teamQuery(team) } })
        .then(() => true),
    { invalidates: [STORAGE] },
  );

  const download = async (e: StorageEntry) => {
    setDownloads((d) => ({ ...d, [e.path]: null }));
    try {
      const saved = await downloadFile(e, {
        team,
        onProgress: (p) => {
          const pct = p.total ? Math.min(100, Math.floor((p.loaded / p.total) * 100)) : null;
          setDownloads((d) => (d[e.path] === pct ? d : { ...d, [e.path]: pct }));
        },
      });
      if (saved) announce(`${e.name} downloaded`);
    } catch (err) {
      const apiErr = toApiError(err);
      toast({ tone: 'danger', title: `Could not download ${e.name}`, message: describeStorageError(apiErr, 'download') });
      if (apiErr.code === 'not_found') void invalidate(qc, STORAGE);
    } finally {
      setDownloads((d) => {
        const next = { ...d };
        delete next[e.path];
        return next;
      });
    }
  };

  const onDrop = async (ev: DragEvent) => {
    ev.preventDefault();
    setDragging(false);
    const files = await filesFromDataTransfer(ev.dataTransfer);
    enqueue(dir, files, team);
  };

  const columns: Column<StorageEntry>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (e) =>
        e.is_dir ? (
          <Link
            className="storage-entry"
            to={`/storage?path=${encodeURIComponent(e.path)}`}
            onClick={(ev) => {
              ev.preventDefault();
              onOpen(e.path);
            }}
            aria-label={`Open folder ${e.name}`}
          >
            <Icon name="folder" />
            <span className="storage-name">{e.name}</span>
          </Link>
        ) : (
          <span className="storage-entry">
            <Icon name="file" />
            <span className="storage-name">{e.name}</span>
          </span>
        ),
    },
    { key: 'size', header: 'Size', align: 'right', render: (e) => (e.is_dir ? 'Folder' : formatBytes(e.size)) },
    {
      key: 'modified',
      header: 'Modified',
      hideOnMobile: true,
      render: (e) => <time dateTime={e.modified_at}>{formatDateTime(e.modified_at)}</time>,
    },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      label: 'Actions',
      align: 'right',
      render: (e) => {
        const pct = downloads[e.path];
        const busy = e.path in downloads;
        return (
          <div className="storage-actions">
            {!e.is_dir && (
              <button
                type="button"
                className="button small"
                onClick={() => void download(e)}
                disabled={busy}
                aria-label={busy ? `Downloading ${e.name}` : `Download ${e.name}`}
              >
                {busy ? (pct == null ? 'Downloading…' : `Downloading ${pct}%`) : 'Download'}
              </button>
            )}
            <button type="button" className="button small" onClick={() => setRenaming(e)} aria-label={`Rename ${e.name}`}>
              Rename
            </button>
            <button
              type="button"
              className="button small danger-ghost"
              onClick={() => {
                del.reset();
                setDeleting(e);
              }}
              aria-label={`Delete ${e.name}`}
            >
              Delete
            </button>
          </div>
        );
      },
    },
  ];

  const notFound = list.error?.code === 'not_found' || list.error?.code === 'invalid_path';
  return (
    <div
      className={`storage-drop${dragging ? ' dragging' : ''}`}
      data-testid="storage-drop"
      onDragEnter={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
        }
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={(e) => void onDrop(e)}
    >
      <p className="storage-drop-hint" aria-hidden={!dragging}>
        {dragging ? `Drop to upload into ${dir ? `/${dir}` : 'the top folder'}` : 'Drag files or folders here to upload them.'}
      </p>
      {notFound && list.error ? (
        <div className="error-box" role="alert" data-code={list.error.code}>
          <div className="error-box-main">
            <strong className="error-box-title">{describeStorageError(list.error, 'list')}</strong>
          </div>
          <button type="button" className="button" onClick={() => onOpen(parentPath(dir))}>
            Up one folder
          </button>
        </div>
      ) : list.data === undefined ? (
        list.error ? (
          <ErrorBox error={list.error} onRetry={() => void list.reload()} />
        ) : (
          <Loading label="Loading the folder…" />
        )
      ) : (
        <>
          {list.error && <ErrorBox error={list.error} onRetry={() => void list.reload()} compact />}
          {list.data.items.length === 0 && !pager.canBack ? (
            <Empty
              title={dir ? 'This folder is empty' : 'No files yet'}
              hint="Upload files with the button above, or drop them here."
            />
          ) : (
            <>
              <DataTable
                caption={`Files in ${dir ? `/${dir}` : team ? "the team's storage" : 'your storage'}`}
                columns={columns}
                rows={sortEntries(list.data.items)}
                rowKey={(e) => e.path}
              />
              <Pagination pager={pager} nextCursor={list.data.next_cursor || undefined} disabled={list.loading} />
            </>
          )}
        </>
      )}
      {renaming && <RenameDialog entry={renaming} onClose={() => setRenaming(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        title={deleting?.is_dir ? 'Delete this folder?' : 'Delete this file?'}
        message={
          deleting &&
          (deleting.is_dir ? (
            <>
              The folder <strong className="storage-name">{deleting.name}</strong> and everything in it are deleted for
              good. This cannot be undone.
            </>
          ) : (
            <>
              <strong className="storage-name">{deleting.name}</strong> ({formatBytes(deleting.size)}) is deleted for
              good. This cannot be undone.
            </>
          ))
        }
        confirmLabel={deleting?.is_dir ? 'Delete folder and contents' : 'Delete file'}
        danger
        pending={del.pending}
        error={del.error}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          if (await del.run(deleting)) {
            toast({ tone: 'success', title: deleting.is_dir ? 'Folder deleted' : 'File deleted', message: deleting.name });
            setDeleting(null);
          }
        }}
      />
    </div>
  );
}

function RenameDialog({ entry, onClose }: { entry: StorageEntry; onClose: () => void }) {
  const { team } = useAccount();
  const [name, setName] = useState(entry.name);
  const [touched, setTouched] = useState(false);
  const toast = useToast();
  const inputRef = useRef<HTMLInputElement>(null);
  const rename = useMutate(
    (to: string) => api.post('/api/v1/storage/rename', { body: { from: entry.path, to }, query: teamQuery(team) }),
    { invalidates: [STORAGE] },
  );
  useEffect(() => {
    // Select the name without its extension, as file managers do.
    const el = inputRef.current;
    const dot = entry.is_dir ? -1 : entry.name.lastIndexOf('.');
    el?.setSelectionRange(0, dot > 0 ? dot : entry.name.length);
  }, [entry]);
  const problem = touched ? nameProblem(name) : undefined;
  const formId = 'storage-rename-form';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (nameProblem(name) || rename.pending) return;
    const n = name.trim();
    if (n === entry.name) return onClose();
    if (await rename.run(joinPath(parentPath(entry.path), n))) {
      toast({ tone: 'success', title: 'Renamed', message: `${entry.name} → ${n}` });
      onClose();
    }
  };
  return (
    <Modal
      open
      title={entry.is_dir ? 'Rename folder' : 'Rename file'}
      onClose={onClose}
      size="small"
      dismissable={!rename.pending}
      initialFocus={inputRef}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={rename.pending}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button primary" disabled={rename.pending}>
            {rename.pending ? 'Renaming…' : 'Rename'}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={submit} noValidate>
        <Field
          label="New name"
          error={
            problem ??
            (rename.error ? <ApiFieldError error={rename.error} message={describeStorageError(rename.error, 'rename')} /> : undefined)
          }
        >
          {(p) => (
            <input
              {...p}
              ref={inputRef}
              value={name}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => {
                setName(e.target.value);
                rename.reset();
              }}
            />
          )}
        </Field>
      </form>
    </Modal>
  );
}

function NewFolderDialog({ dir, onClose }: { dir: string; onClose: () => void }) {
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const toast = useToast();
  const { team } = useAccount();
  const mkdir = useMutate((path: string) => api.post('/api/v1/storage/mkdir', { body: { path }, query: teamQuery(team) }), {
    invalidates: [STORAGE],
  });
  const problem = touched ? nameProblem(name) : undefined;
  const formId = 'storage-mkdir-form';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (nameProblem(name) || mkdir.pending) return;
    if (await mkdir.run(joinPath(dir, name.trim()))) {
      toast({ tone: 'success', title: 'Folder created', message: name.trim() });
      onClose();
    }
  };
  return (
    <Modal
      open
      title="New folder"
      onClose={onClose}
      size="small"
      dismissable={!mkdir.pending}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={mkdir.pending}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button primary" disabled={mkdir.pending}>
            {mkdir.pending ? 'Creating…' : 'Create folder'}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={submit} noValidate>
        <Field
          label="Folder name"
          hint={`In ${dir ? `/${dir}` : 'the top folder'}.`}
          error={
            problem ?? (mkdir.error ? <ApiFieldError error={mkdir.error} message={describeStorageError(mkdir.error, 'mkdir')} /> : undefined)
          }
        >
          {(p) => (
            <input
              {...p}
              value={name}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => {
                setName(e.target.value);
                mkdir.reset();
              }}
            />
          )}
        </Field>
      </form>
    </Modal>
  );
}
