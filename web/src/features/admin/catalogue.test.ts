import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors';
import {
  checkSkuForm,
  emptySkuForm,
  fieldOfCatalogueError,
  formFromSuggestion,
  nameError,
  parsePrice,
  priceInput,
  regionInUseText,
} from './catalogue';

describe('parsePrice', () => {
  it('reads major units exactly, never through a float', () => {
    expect(parsePrice('3.49', 'USD')).toEqual({ ok: true, minor: 349 });
    expect(parsePrice('0.1', 'USD')).toEqual({ ok: true, minor: 10 });
    expect(parsePrice('19.99', 'USD')).toEqual({ ok: true, minor: 1999 });
    expect(parsePrice('.5', 'USD')).toEqual({ ok: true, minor: 50 });
    expect(parsePrice(' 0 ', 'USD')).toEqual({ ok: true, minor: 0 });
    expect(parsePrice('500', 'JPY')).toEqual({ ok: true, minor: 500 });
    expect(parsePrice('1.250', 'KWD')).toEqual({ ok: true, minor: 1250 });
  });
  it('refuses signs, commas, too many decimals and the limit', () => {
    expect(parsePrice('', 'USD').ok).toBe(false);
    expect(parsePrice('-1', 'USD').ok).toBe(false);
    expect(parsePrice('3,49', 'USD').ok).toBe(false);
    expect(parsePrice('3.499', 'USD')).toEqual({ ok: false, error: 'At most 2 digits after the dot.' });
    expect(parsePrice('1.5', 'JPY')).toEqual({ ok: false, error: 'JPY has no fractional units.' });
    expect(parsePrice('10000000.01', 'USD').ok).toBe(false);
    expect(parsePrice('10000000', 'USD')).toEqual({ ok: true, minor: 1_000_000_000 });
  });
  it('round-trips with priceInput', () => {
    expect(priceInput(349, 'USD')).toBe('3.49');
    expect(priceInput(5, 'USD')).toBe('0.05');
    expect(priceInput(0, 'USD')).toBe('0.00');
    expect(priceInput(500, 'JPY')).toBe('500');
    expect(parsePrice(priceInput(123456, 'USD'), 'USD')).toEqual({ ok: true, minor: 123456 });
  });
});

describe('nameError', () => {
  it('wants 1 to 64 printable characters', () => {
    expect(nameError('Amsterdam')).toBeNull();
    expect(nameError('   ')).toBe('Enter a name.');
    expect(nameError('é'.repeat(64))).toBeNull();
    expect(nameError('é'.repeat(65))).toBe('At most 64 characters.');
    expect(nameError('a\nb')).toBe('Use printable characters only.');
    expect(nameError('a\u200bb')).toBe('Use printable characters only.');
  });
});

describe('checkSkuForm', () => {
  const filled = {
    ...emptySkuForm('eu-1'),
    id: 'h100-x1',
    name: ' H100 ×1 ',
    gpu_model: 'NVIDIA H100 80GB HBM3',
    gpu_memory_mib: '81559',
    vcpu: '16',
    memory_gib: '192',
    disk_gib: '500',
    price: '2.49',
  };
  it('builds the request in the API units', () => {
    expect(checkSkuForm(filled)).toEqual({
      ok: true,
      req: {
        id: 'h100-x1',
        name: 'H100 ×1',
        region: 'eu-1',
        gpu_model: 'NVIDIA H100 80GB HBM3',
        gpu_count: 1,
        gpu_memory_mib: 81559,
        vcpu: 16,
        memory_mib: 192 * 1024,
        disk_gib: 500,
        price_per_hour_minor: 249,
        currency: 'USD',
      },
    });
  });
  it('names every wrong field with the API field name', () => {
    const r = checkSkuForm({ ...emptySkuForm(''), id: 'H1', gpu_count: '17', currency: 'dollars', price: '-1' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(Object.keys(r.errors).sort()).toEqual(
        ['currency', 'disk_gib', 'gpu_count', 'gpu_memory_mib', 'gpu_model', 'id', 'memory_mib', 'name', 'price_per_hour_minor', 'region', 'vcpu'].sort(),
      );
    }
  });
  it('prefills from a suggestion and leaves the rest to the admin', () => {
    const f = formFromSuggestion({
      id: 'h100-80gb-hbm3-x8',
      name: 'H100 80GB HBM3 ×8',
      region: 'eu-1',
      gpu_model: 'NVIDIA H100 80GB HBM3',
      gpu_memory_mib: 81559,
      gpu_count: 8,
      node_count: 2,
    });
    expect(f).toMatchObject({ id: 'h100-80gb-hbm3-x8', region: 'eu-1', gpu_count: '8', gpu_memory_mib: '81559', price: '', vcpu: '' });
  });
});

describe('server errors', () => {
  it('maps details.field and a duplicate id to the field', () => {
    expect(fieldOfCatalogueError(new ApiError({ status: 400, code: 'invalid_request', message: 'region: …', details: { field: 'region' } }))).toBe('region');
    expect(fieldOfCatalogueError(new ApiError({ status: 409, code: 'conflict', message: 'SKU "x" exists' }))).toBe('id');
    expect(fieldOfCatalogueError(new ApiError({ status: 500, code: 'internal', message: 'x' }))).toBeNull();
  });
  it('says in plain words what keeps a region', () => {
    const err = new ApiError({
      status: 409,
      code: 'region_in_use',
      message: 'region eu-1 is used by …',
      details: { node_count: 12, sku_count: 1, nodes: ['a', 'b'], skus: ['h100-x1'] },
    });
    expect(regionInUseText('eu-1', err)).toBe(
      'Region eu-1 is still used by 12 nodes (a, b and 10 more) and 1 SKU (h100-x1). Move or remove them first; inactive SKUs and disabled nodes count too.',
    );
  });
});
