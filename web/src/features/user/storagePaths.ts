// Paths in the storage namespace, as the API takes them: relative to the
// namespace root, '/'-separated, no leading slash ("" is the root). The
// console never builds a path with "..", "." or an empty segment, so what it
// sends is what the person sees in the breadcrumb.

/** The namespace's limit on one name (the server's too), in UTF-8 bytes. */
export const NAME_MAX_BYTES = 255;

export class PathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathError';
  }
}

function segments(p: string): string[] {
  const out: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') throw new PathError('A path cannot go up a folder ("..").');
    out.push(s);
  }
  return out;
}

/** "/a//b/./c/" → "a/b/c"; throws PathError on "..". */
export function normalizePath(p: string): string {
  return segments(p).join('/');
}

/** joinPath("a/b", "c.txt") → "a/b/c.txt", joinPath("", "x/y") → "x/y"; never a double slash, never "..". */
export function joinPath(...parts: string[]): string {
  return parts.flatMap(segments).join('/');
}

/** The folder holding p ("" for a top-level entry or the root). */
export function parentPath(p: string): string {
  const s = segments(p);
  return s.slice(0, -1).join('/');
}

/** The last name of p ("" for the root). */
export function baseName(p: string): string {
  return segments(p).at(-1) ?? '';
}

export interface Crumb {
  /** What the link says: "Storage" for the root, else the folder's name. */
  label: string;
  /** The folder's path ("" for the root). */
  path: string;
}

/** breadcrumbs("a/b") → Storage (""), a ("a"), b ("a/b"). */
export function breadcrumbs(p: string, rootLabel = 'Storage'): Crumb[] {
  const s = segments(p);
  return [{ label: rootLabel, path: '' }, ...s.map((label, i) => ({ label, path: s.slice(0, i + 1).join('/') }))];
}

/** Why a name typed for a new folder or a rename cannot be used, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  const n = name.trim();
  if (n === '') return 'Type a name.';
  if (n === '.' || n === '..') return 'That name is reserved.';
  if (n.includes('/')) return 'A name cannot contain “/”.';
  // Control and bidirectional-override characters are refused by the server too.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(n)) return 'A name cannot contain control characters.';
  if (new TextEncoder().encode(n).length > NAME_MAX_BYTES) return `At most ${NAME_MAX_BYTES} bytes (shorter, or fewer accented letters).`;
  return undefined;
}

/** The path of the folder to show, from the page's ?path= (a bad one is the root). */
export function pathFromQuery(v: string | null): string {
  try {
    return normalizePath(v ?? '');
  } catch {
    return '';
  }
}
