import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors';
import { LineBuffer, buildWorkload, emptyWorkloadForm, formatBytes, pullProgress, routeFieldError, splitCommand } from './workload';

const ev = (id: number, kind: string, over: Record<string, unknown> = {}) => ({
  id,
  kind,
  message: kind,
  created_at: `2025-01-01T00:00:${String(id).padStart(2, '0')}Z`,
  ...over,
});

describe('splitCommand', () => {
  it('splits on whitespace and keeps quoted spaces', () => {
    expect(splitCommand('  python  train.py --lr 0.1 ')).toEqual(['python', 'train.py', '--lr', '0.1']);
    expect(splitCommand(`sh -c "echo 'hi there'"`)).toEqual(['sh', '-c', "echo 'hi there'"]);
    expect(splitCommand(`a 'b "c" d' e\\ f ""`)).toEqual(['a', 'b "c" d', 'e f', '']);
    expect(splitCommand('say "a \\"q\\""')).toEqual(['say', 'a "q"']);
  });
  it('refuses an unclosed quote', () => {
    expect(() => splitCommand('sh -c "echo')).toThrow(/double quote is not closed/);
  });
});

describe('buildWorkload', () => {
  it('sends nothing for the shell and trims non-secret params only', () => {
    expect(buildWorkload(emptyWorkloadForm(), undefined)).toEqual({ workload: undefined, errors: {} });
    const jup = {
      id: 'jupyter',
      name: 'Jupyter',
      description: '',
      runtime: 'docker' as const,
      image: 'x',
      ports: [],
      params: [
        { name: 'image', description: '', required: false, secret: false },
        { name: 'token', description: '', required: false, secret: true },
      ],
    };
    const r = buildWorkload({ ...emptyWorkloadForm(), launchable: 'jupyter', params: { image: ' a/b ', token: ' t ' } }, jup);
    expect(r.workload).toEqual({ launchable: 'jupyter', params: { image: 'a/b', token: ' t ' } });
  });
  it('refuses a repeated port, a platform variable and a repeated variable', () => {
    const r = buildWorkload(
      {
        ...emptyWorkloadForm(),
        launchable: 'container',
        image: 'img',
        ports: [
          { key: 1, name: 'web', port: '80' },
          { key: 2, name: 'web', port: '80' },
        ],
        env: [
          { key: 3, name: 'CUDA_VISIBLE_DEVICES', value: '0' },
          { key: 4, name: 'A', value: '1' },
          { key: 5, name: 'A', value: '2' },
        ],
      },
      undefined,
    );
    expect(r.errors).toEqual({
      'ports.2.name': 'Already used by another port.',
      'ports.2.port': 'Already used by another port.',
      'env.3': 'The platform sets this one.',
      'env.5': 'Set twice.',
    });
  });
});

describe('routeFieldError', () => {
  const err = (field: string, message: string, code = 'invalid_request') =>
    new ApiError({ status: 400, code, message, details: { field } });
  const form = {
    ...emptyWorkloadForm(),
    launchable: 'container',
    env: [
      { key: 7, name: 'FOO', value: '' },
      { key: 8, name: 'NVIDIA_X', value: '' },
    ],
  };
  it('maps each field the server names to the form', () => {
    expect(routeFieldError(err('workload.image', 'workload.image: required for the container launchable'), form)).toEqual({
      key: 'image',
      message: 'Required for the container launchable',
    });
    expect(routeFieldError(err('workload.command[2]', 'workload.command[2]: at most 4096 bytes'), form)).toEqual({
      key: 'command',
      message: 'Argument 3: At most 4096 bytes',
    });
    expect(routeFieldError(err('workload.env.NVIDIA_X', 'workload.env.NVIDIA_X: set by the platform'), form)?.key).toBe('env.8');
    expect(routeFieldError(err('workload.env', 'workload.env: at most 64 variables'), form)?.key).toBe('env');
    expect(routeFieldError(err('workload.ports[0].name', 'x'), form)?.key).toBe('ports');
  });
  it('leaves other errors to the error box', () => {
    expect(routeFieldError(undefined, form)).toBeNull();
    expect(routeFieldError(new ApiError({ status: 402, code: 'insufficient_funds', message: 'x' }), form)).toBeNull();
    expect(routeFieldError(err('sku_id', 'sku_id: unknown'), form)).toBeNull();
  });
});

describe('pull progress', () => {
  it('reads the latest pulling event as a percentage, rounded down', () => {
    const p = pullProgress([
      ev(1, 'requested'),
      ev(2, 'pulling', { bytes_done: 10, bytes_total: 100 }),
      ev(3, 'pulling', { bytes_done: 2_000_000_000, bytes_total: 3_000_000_000 }),
    ]);
    expect(p).toMatchObject({ percent: 66, done: 2_000_000_000, total: 3_000_000_000 });
    expect(formatBytes(2_000_000_000)).toBe('1.86 GB');
    expect(formatBytes(3_000_000_000)).toBe('2.79 GB');
  });
  it('has no percentage without a total, caps at 100, and ends with the pull', () => {
    expect(pullProgress([ev(1, 'pulling', { bytes_done: 5, bytes_total: null })])?.percent).toBeNull();
    expect(pullProgress([ev(1, 'pulling', { bytes_done: 150, bytes_total: 100 })])?.percent).toBe(100);
    expect(pullProgress([ev(1, 'pulling', { bytes_done: 1, bytes_total: 2 }), ev(2, 'pulled')])).toBeNull();
    expect(pullProgress([ev(1, 'pulling', { bytes_done: 1, bytes_total: 2 }), ev(2, 'failed')])).toBeNull();
    expect(pullProgress([ev(1, 'created')])).toBeNull();
  });
  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
    expect(formatBytes(-1)).toBe('—');
  });
});

describe('LineBuffer', () => {
  it('joins a line split across chunks, and a last line without a newline at the end', () => {
    const b = new LineBuffer();
    expect(b.push('hel')).toEqual([]);
    expect(b.push('lo\nwor')).toEqual(['hello']);
    expect(b.pending).toBe('wor');
    expect(b.push('ld\r\n\nlast')).toEqual(['world', '']);
    b.end();
    expect(b.lines).toEqual(['hello', 'world', '', 'last']);
  });
  it('keeps only the last max lines', () => {
    const b = new LineBuffer(3);
    b.push('1\n2\n3\n4\n5\n');
    expect(b.lines).toEqual(['3', '4', '5']);
    expect(b.dropped).toBe(2);
  });
});
