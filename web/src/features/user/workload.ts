// What an allocation runs, without React: the create dialog's app picker
// turns its form into a WorkloadRequest here (with the client-side checks),
// a 400 from the server is routed back to the field it names (details.field),
// and the allocation page reads pull progress out of its events and splits
// the streamed log into lines.
import type { ApiError } from '../../api/errors';
import type { AllocationEvent, Launchable, WorkloadRequest } from '../../api/types';

export const SHELL = 'shell';
export const CONTAINER = 'container';

export const PORT_NAME = /^[a-z][a-z0-9-]{0,31}$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface PortRow {
  key: number;
  name: string;
  port: string;
}

export interface EnvRow {
  key: number;
  name: string;
  value: string;
}

/** The picker's form: which launchable, and what each kind of launchable takes. */
export interface WorkloadForm {
  launchable: string;
  /** params by name (launchables that declare them, e.g. jupyter). */
  params: Record<string, string>;
  /** container only. */
  image: string;
  command: string;
  ports: PortRow[];
  env: EnvRow[];
}

export const emptyWorkloadForm = (): WorkloadForm => ({
  launchable: SHELL,
  params: {},
  image: '',
  command: '',
  ports: [],
  env: [],
});

/**
 * Splits a one-line command into arguments the way a shell would for the
 * simple cases: spaces separate, "double" or 'single' quotes keep spaces
 * in one argument, a backslash takes the next character as it is (not
 * inside single quotes). No variables, globs or pipes: for those, run
 * `sh -c '…'`. Throws on an unclosed quote.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inArg = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inArg = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) args.push(cur);
      cur = '';
      inArg = false;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (quote) throw new Error(`A ${quote === '"' ? 'double' : 'single'} quote is not closed.`);
  if (inArg) args.push(cur);
  return args;
}

/** Field keys the form shows errors under: "image", "command", "params.NAME", "ports.ROWKEY.name", "env.ROWKEY", "launchable", "ports", "env". */
export type FieldErrors = Record<string, string>;

function isBlankPort(r: PortRow) {
  return r.name.trim() === '' && r.port.trim() === '';
}
function isBlankEnv(r: EnvRow) {
  return r.name.trim() === '' && r.value === '';
}

/**
 * The request body's workload for the form (undefined for the shell: the
 * server's default), and what is obviously wrong with it. The server checks
 * again and has the last word.
 */
export function buildWorkload(
  form: WorkloadForm,
  launchable: Launchable | undefined,
): { workload: WorkloadRequest | undefined; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (form.launchable === SHELL) return { workload: undefined, errors };
  const w: WorkloadRequest = { launchable: form.launchable };

  const params: Record<string, string> = {};
  for (const p of launchable?.params ?? []) {
    const v = form.params[p.name] ?? '';
    if (v.trim() === '') {
      if (p.required) errors[`params.${p.name}`] = 'Required.';
      continue;
    }
    params[p.name] = p.secret ? v : v.trim();
  }
  if (Object.keys(params).length > 0) w.params = params;

  if (form.launchable === CONTAINER) {
    const image = form.image.trim();
    if (image === '') errors.image = 'Required: the image to run, e.g. nvcr.io/nvidia/pytorch:24.05-py3.';
    else if (/\s/.test(image)) errors.image = 'An image reference has no spaces.';
    w.image = image;

    if (form.command.trim() !== '') {
      try {
        w.command = splitCommand(form.command);
      } catch (e) {
        errors.command = (e as Error).message;
      }
    }

    const ports = form.ports.filter((r) => !isBlankPort(r));
    const seenNames = new Set<string>();
    const seenPorts = new Set<number>();
    const outPorts: { name: string; port: number }[] = [];
    for (const r of ports) {
      const name = r.name.trim();
      if (!PORT_NAME.test(name)) {
        errors[`ports.${r.key}.name`] = name === '' ? 'Name it, e.g. web.' : 'Lowercase letters, digits and -, starting with a letter, at most 32.';
      } else if (seenNames.has(name)) {
        errors[`ports.${r.key}.name`] = 'Already used by another port.';
      }
      seenNames.add(name);
      const n = Number(r.port.trim());
      if (r.port.trim() === '' || !Number.isInteger(n) || n < 1 || n > 65535) {
        errors[`ports.${r.key}.port`] = 'A number from 1 to 65535.';
      } else if (seenPorts.has(n)) {
        errors[`ports.${r.key}.port`] = 'Already used by another port.';
      }
      seenPorts.add(n);
      outPorts.push({ name, port: n });
    }
    if (outPorts.length > 0) w.ports = outPorts;

    const env: Record<string, string> = {};
    for (const r of form.env.filter((r) => !isBlankEnv(r))) {
      const name = r.name.trim();
      if (!ENV_NAME.test(name)) {
        errors[`env.${r.key}`] = name === '' ? 'Name the variable.' : 'Letters, digits and _, not starting with a digit.';
      } else if (name in env) {
        errors[`env.${r.key}`] = 'Set twice.';
      } else if (/^(NVIDIA_|GPUAAS_)/.test(name) || name === 'CUDA_VISIBLE_DEVICES') {
        errors[`env.${r.key}`] = 'The platform sets this one.';
      }
      env[name] = r.value;
    }
    if (Object.keys(env).length > 0) w.env = env;
  }
  return { workload: w, errors };
}

/**
 * Where a refused create's error belongs in the form: the server names the
 * field in details.field ("workload.image", "workload.ports[1].port",
 * "workload.env.FOO", "workload.params.image", "workload.command[2]"), and
 * the message is "field: what is wrong". Answers the form's field key and the
 * words to show, or null when the error is not about one workload field.
 */
export function routeFieldError(err: ApiError | undefined, form: WorkloadForm): { key: string; message: string } | null {
  if (!err || err.status !== 400) return null;
  const field = typeof err.details.field === 'string' ? err.details.field : '';
  if (!field.startsWith('workload.') && field !== 'workload') return null;
  const rest = field.slice('workload.'.length);
  let said = err.message;
  if (said.startsWith(`${field}: `)) said = said.slice(field.length + 2);
  said = said ? said[0]!.toUpperCase() + said.slice(1) : said;
  const message =
    err.code === 'image_not_allowed'
      ? 'This image is not allowed here: the operator allows only some images. Ask them which.'
      : said || 'Not accepted.';
  let m: RegExpExecArray | null;
  if (rest === 'image' || rest === 'launchable') return { key: rest, message };
  if (rest === 'command' || /^command\[\d+\]$/.test(rest)) {
    const i = /\[(\d+)\]/.exec(rest)?.[1];
    return { key: 'command', message: i !== undefined ? `Argument ${Number(i) + 1}: ${message}` : message };
  }
  if ((m = /^params\.(.+)$/.exec(rest))) return { key: `params.${m[1]}`, message };
  if (rest === 'params') return { key: 'launchable', message };
  if ((m = /^ports\[(\d+)\]\.(name|port|protocol)$/.exec(rest))) {
    const row = form.ports.filter((r) => !isBlankPort(r))[Number(m[1])];
    if (row) return { key: `ports.${row.key}.${m[2] === 'protocol' ? 'port' : m[2]}`, message };
    return { key: 'ports', message };
  }
  if (rest === 'ports') return { key: 'ports', message };
  if ((m = /^env\.(.+)$/.exec(rest))) {
    const row = form.env.find((r) => r.name.trim() === m![1]);
    return { key: row ? `env.${row.key}` : 'env', message };
  }
  if (rest === 'env') return { key: 'env', message };
  return null;
}

// ---- the allocation page --------------------------------------------------

/** Bytes in the units formatSize uses (1 GB = 1024 MB): formatBytes(1536) → "1.5 KB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${Number(v.toFixed(digits))} ${units[u]}`;
}

export interface PullProgress {
  /** 0–100, whole; null when the size is not known yet. */
  percent: number | null;
  done: number | null;
  total: number | null;
  message: string;
  at: string;
}

/**
 * The image pull in progress: the latest `pulling` event, unless something
 * later (pulled, created, started, failed …) says the pull is over. Events
 * are oldest first, as the API sends them.
 */
export function pullProgress(events: readonly AllocationEvent[]): PullProgress | null {
  let last = -1;
  for (let i = events.length - 1; i >= 0; i--) {
    if (events[i]!.kind === 'pulling') {
      last = i;
      break;
    }
  }
  if (last < 0) return null;
  if (events.slice(last + 1).some((e) => e.kind !== 'pulling' && e.kind !== 'requested')) return null;
  const e = events[last]!;
  const done = typeof e.bytes_done === 'number' ? Math.max(0, e.bytes_done) : null;
  const total = typeof e.bytes_total === 'number' && e.bytes_total > 0 ? e.bytes_total : null;
  const percent = done !== null && total !== null ? Math.min(100, Math.floor((done / total) * 100)) : null;
  return { percent, done, total, message: e.message, at: e.created_at };
}

/**
 * Splits a streamed text into lines across chunks: a chunk may end in the
 * middle of a line, which waits for the rest. Keeps at most `max` lines.
 */
export class LineBuffer {
  lines: string[] = [];
  private partial = '';
  /** Lines dropped from the front to stay within max. */
  dropped = 0;
  constructor(readonly max = 5000) {}

  /** Adds a chunk; answers the lines it completed. */
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const done = parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    this.add(done);
    return done;
  }

  /** The stream ended: a last line without a newline counts. */
  end(): void {
    if (this.partial !== '') {
      this.add([this.partial]);
      this.partial = '';
    }
  }

  /** What is not a whole line yet. */
  get pending(): string {
    return this.partial;
  }

  private add(done: string[]) {
    if (done.length === 0) return;
    for (const l of done) this.lines.push(l);
    const over = this.lines.length - this.max;
    if (over > 0) {
      this.lines.splice(0, over);
      this.dropped += over;
    }
  }
}
