// "Are you sure?" for destructive actions. Extra fields (a required reason)
// go in children; disable confirm with `confirmDisabled` until they are valid.
//
//   <ConfirmDialog open={open} title="Release allocation?" danger confirmLabel="Release"
//     message="The GPUs are freed and billing stops." pending={release.pending} error={release.error}
//     onConfirm={async () => { if (await release.run(id)) setOpen(false); }} onCancel={() => setOpen(false)} />
import { useId, type ReactNode } from 'react';
import type { ApiError } from '../api/errors';
import { ErrorBox } from './ErrorBox';
import { Modal } from './Modal';

export function ConfirmDialog({
  open,
  title,
  message,
  confirmLabel = 'Confirm',
  cancelLabel = 'Cancel',
  danger = false,
  pending = false,
  error,
  confirmDisabled = false,
  onConfirm,
  onCancel,
  children,
}: {
  open: boolean;
  title: string;
  message?: ReactNode;
  confirmLabel?: string;
  cancelLabel?: string;
  danger?: boolean;
  pending?: boolean;
  error?: ApiError;
  confirmDisabled?: boolean;
  onConfirm: () => void | Promise<void>;
  onCancel: () => void;
  children?: ReactNode;
}) {
  const formId = useId();
  return (
    <Modal
      open={open}
      title={title}
      onClose={onCancel}
      size="small"
      dismissable={!pending}
      description={message}
      footer={
        <>
          <button type="button" className="button" onClick={onCancel} disabled={pending}>
            {cancelLabel}
          </button>
          <button
            type="submit"
            form={formId}
            className={`button ${danger ? 'danger' : 'primary'}`}
            disabled={pending || confirmDisabled}
          >
            {pending ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      <form
        id={formId}
        onSubmit={(e) => {
          e.preventDefault();
          if (!pending && !confirmDisabled) void onConfirm();
        }}
      >
        {children}
      </form>
      {error && <ErrorBox error={error} compact />}
    </Modal>
  );
}
