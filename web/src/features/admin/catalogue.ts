// The catalogue forms' rules, as the server checks them
// (internal/inventory/catalogue.go), so a form can say what is wrong before
// it sends; the server stays the judge and its 400 names the field
// (details.field), which fieldOfCatalogueError maps back to the form.
import type { ApiError } from '../../api/errors';
import type { components } from '../../api/schema';
import { currencyDigits } from '../../lib/format';

type S = components['schemas'];
export type AdminRegion = S['AdminRegion'];
export type CreateSKURequest = S['CreateSKURequest'];
export type SKUSuggestion = S['SKUSuggestion'];
export type SKUPrice = S['SKUPrice'];

export const REGION_SLUG = /^[a-z][a-z0-9-]{1,31}$/;
export const SKU_ID = /^[a-z][a-z0-9-]{1,62}$/;
export const NAME_MAX = 64;
export const MAX_PRICE_MINOR = 1_000_000_000;

/** What a name field lacks, or null: 1 to 64 printable characters once trimmed. */
export function nameError(name: string): string | null {
  const s = name.trim();
  const n = [...s].length;
  if (n === 0) return 'Enter a name.';
  if (n > NAME_MAX) return `At most ${NAME_MAX} characters.`;
  // Control and format characters (line breaks, zero-width spaces) are refused by the server.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(s)) return 'Use printable characters only.';
  return null;
}

export type ParsedPrice = { ok: true; minor: number } | { ok: false; error: string };

/**
 * parsePrice("3.49", "USD") → 349 minor units: an hourly price typed in major
 * units, parsed digit by digit (never through a float). Zero is a valid
 * price; a sign, a comma or more decimals than the currency has are not.
 */
export function parsePrice(input: string, currency: string): ParsedPrice {
  const s = input.trim();
  const digits = currencyDigits(currency);
  if (s === '') return { ok: false, error: 'Enter a price.' };
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s) ?? /^()\.(\d+)$/.exec(s);
  if (!m) return { ok: false, error: 'Enter a price such as 3.49 (a dot for decimals, no sign).' };
  const whole = m[1] || '0';
  const frac = m[2] ?? '';
  if (frac.length > digits) {
    return { ok: false, error: digits === 0 ? `${currency} has no fractional units.` : `At most ${digits} digits after the dot.` };
  }
  const minor = BigInt(whole) * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0');
  if (minor > BigInt(MAX_PRICE_MINOR)) return { ok: false, error: 'That price is above the platform’s limit.' };
  return { ok: true, minor: Number(minor) };
}

/** The price in major units for an input box: 349 USD → "3.49". */
export function priceInput(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  if (digits === 0) return String(minor);
  const s = String(minor).padStart(digits + 1, '0');
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/** The SKU form as the admin types it: numbers stay text until checked. */
export interface SkuForm {
  id: string;
  name: string;
  region: string;
  gpu_model: string;
  gpu_count: string;
  gpu_memory_mib: string;
  vcpu: string;
  memory_gib: string;
  disk_gib: string;
  price: string;
  currency: string;
}

export const emptySkuForm = (region = ''): SkuForm => ({
  id: '',
  name: '',
  region,
  gpu_model: '',
  gpu_count: '1',
  gpu_memory_mib: '',
  vcpu: '',
  memory_gib: '',
  disk_gib: '',
  price: '',
  currency: 'USD',
});

/** A suggestion as a form: what the nodes reported is filled in, the rest left to the admin. */
export function formFromSuggestion(s: SKUSuggestion): SkuForm {
  return {
    ...emptySkuForm(s.region),
    id: s.id,
    name: s.name,
    gpu_model: s.gpu_model,
    gpu_count: String(s.gpu_count),
    gpu_memory_mib: String(s.gpu_memory_mib),
  };
}

export type SkuField = keyof CreateSKURequest;

function int(text: string, lo: number, hi: number): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= lo && n <= hi ? n : null;
}

/**
 * Checks the form and builds the request; errors are keyed by the API's
 * field names, so the server's details.field lands on the same input.
 */
export function checkSkuForm(f: SkuForm): { ok: true; req: CreateSKURequest } | { ok: false; errors: Partial<Record<SkuField, string>> } {
  const errors: Partial<Record<SkuField, string>> = {};
  const id = f.id.trim();
  if (!SKU_ID.test(id)) errors.id = '2 to 63 of a–z, 0–9 and -, starting with a letter.';
  const nErr = nameError(f.name);
  if (nErr) errors.name = nErr;
  if (!f.region) errors.region = 'Choose a region.';
  const model = f.gpu_model.trim();
  if (model === '' || [...model].length > 128) errors.gpu_model = 'The model exactly as nvidia-smi names it.';
  const gpuCount = int(f.gpu_count, 1, 16);
  if (gpuCount === null) errors.gpu_count = 'A whole number from 1 to 16.';
  const gpuMem = int(f.gpu_memory_mib, 1, 1 << 20);
  if (gpuMem === null) errors.gpu_memory_mib = 'MiB per GPU, a whole number above 0.';
  const vcpu = int(f.vcpu, 1, 1024);
  if (vcpu === null) errors.vcpu = 'A whole number from 1 to 1024.';
  const memGiB = int(f.memory_gib, 1, 16 * 1024);
  if (memGiB === null) errors.memory_mib = 'GiB, a whole number from 1 to 16384.';
  const disk = int(f.disk_gib, 1, 1 << 20);
  if (disk === null) errors.disk_gib = 'GiB, a whole number above 0.';
  const currency = f.currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) errors.currency = 'A three-letter ISO code such as USD.';
  const price = parsePrice(f.price, currency || 'USD');
  if (!price.ok) errors.price_per_hour_minor = price.error;
  if (Object.keys(errors).length > 0 || !price.ok) return { ok: false, errors };
  return {
    ok: true,
    req: {
      id,
      name: f.name.trim(),
      region: f.region,
      gpu_model: model,
      gpu_count: gpuCount!,
      gpu_memory_mib: gpuMem!,
      vcpu: vcpu!,
      memory_mib: memGiB! * 1024,
      disk_gib: disk!,
      price_per_hour_minor: price.minor,
      currency,
    },
  };
}

/** The form field a server error belongs to (its details.field), or null. */
export function fieldOfCatalogueError(err: ApiError | undefined): string | null {
  if (!err) return null;
  if (err.code === 'conflict') return 'id';
  const f = err.details.field;
  return typeof f === 'string' ? f : null;
}

/** A 409 region_in_use in plain words: which nodes and SKUs keep the region. */
export function regionInUseText(slug: string, err: ApiError): string {
  const d = err.details;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const count = (v: unknown) => (typeof v === 'number' ? v : 0);
  const part = (n: number, names: string[], one: string, many: string) => {
    if (n === 0) return null;
    const more = n - names.length;
    return `${n} ${n === 1 ? one : many} (${names.join(', ')}${more > 0 ? ` and ${more} more` : ''})`;
  };
  const parts = [
    part(count(d.node_count), list(d.nodes), 'node', 'nodes'),
    part(count(d.sku_count), list(d.skus), 'SKU', 'SKUs'),
  ].filter(Boolean);
  if (parts.length === 0) return err.message;
  return `Region ${slug} is still used by ${parts.join(' and ')}. Move or remove them first; inactive SKUs and disabled nodes count too.`;
}
