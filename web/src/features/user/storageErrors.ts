// What a refused storage action means, per action: the API's 409 conflict
// says "something is in the way", which reads differently for an upload,
// a new folder, a rename and a delete. Everything else is describeError.
import { describeError, type ApiError } from '../../api/errors';
import { formatBytes } from '../../lib/format';

export type StorageOp = 'upload' | 'mkdir' | 'rename' | 'delete' | 'download' | 'list';

/** `size`: the file's bytes, for an upload (a quota refusal then says how big the file is). */
export function describeStorageError(err: ApiError, op: StorageOp, size?: number): string {
  if (op === 'upload' && err.code === 'storage_quota_exceeded' && size !== undefined) {
    return describeError(err).replace(/^Not enough storage space:/, `Not enough storage space for this file (${formatBytes(size)}):`);
  }
  if (err.code === 'conflict') {
    if (op === 'upload') return 'A folder with this name is already here. Rename one of them and try again.';
    if (op === 'mkdir') return 'A file with this name is already here. Choose another name.';
    if (op === 'rename') return 'Something with this name is already in this folder. Choose another name.';
    if (op === 'delete') return 'The folder is not empty.';
  }
  if (err.code === 'not_found') {
    if (op === 'list') return 'This folder does not exist (any more). Go back to the top of your storage.';
    return 'It is no longer there: it may have been renamed or deleted. The list now shows the latest.';
  }
  return describeError(err);
}
