import { describe, expect, it } from 'vitest';
import { categoryOf, describeAudit, entryLabel, localInputToRFC3339, matchesAudit, metadataPairs, rfc3339ToLocalInput } from './audit';

describe('describeAudit', () => {
  it('reads a balance adjustment as money', () => {
    expect(
      describeAudit({ action: 'billing.adjustment', metadata: { amount_minor: 1234, currency: 'USD', reason: 'goodwill' } }),
    ).toBe('Credit USD +12.34 — goodwill');
    expect(describeAudit({ action: 'billing.adjustment', metadata: { amount_minor: -500, currency: 'USD' } })).toBe(
      'Debit USD -5.00',
    );
  });

  it('reads a status change with its reason', () => {
    expect(
      describeAudit({
        action: 'allocation.transition',
        metadata: { status_from: 'active', status_to: 'releasing', reason: 'abuse report' },
      }),
    ).toBe('active → releasing (abuse report)');
    expect(
      describeAudit({ action: 'node.disable', metadata: { admin_state_from: 'active', admin_state_to: 'disabled' } }),
    ).toBe('Admin state active → disabled');
  });

  it('lists unknown metadata as key: value', () => {
    expect(describeAudit({ action: 'something.new', metadata: { bytes_in: 10, ok: true } })).toBe(
      'Bytes in: 10 · Ok: true',
    );
    expect(metadataPairs({ nested: { a: 1 } })).toEqual([['Nested', '{"a":1}']]);
  });
});

describe('time range', () => {
  it('round-trips a datetime-local value through RFC 3339', () => {
    const rfc = localInputToRFC3339('2026-03-04T05:06');
    expect(rfc).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(rfc3339ToLocalInput(rfc)).toBe('2026-03-04T05:06');
  });
  it('gives empty for empty or invalid', () => {
    expect(localInputToRFC3339('')).toBe('');
    expect(localInputToRFC3339('nonsense')).toBe('');
    expect(rfc3339ToLocalInput('nope')).toBe('');
  });
});

describe('audit entries people can find', () => {
  const force = { action: 'allocation.transition', metadata: { status_from: 'active', status_to: 'releasing', reason: 'admin: abuse' } };
  it('names a force release as such, and finds it by that name', () => {
    expect(entryLabel(force)).toBe('Force release');
    expect(matchesAudit(force, 'force release')).toBe(true);
    expect(matchesAudit(force, 'abuse')).toBe(true);
    expect(matchesAudit({ action: 'auth.login', metadata: { username: 'demo' } }, 'force')).toBe(false);
  });
  it('groups actions by category', () => {
    expect(categoryOf('billing.adjustment')).toBe('billing');
    expect(categoryOf('ssh_key.add')).toBe('ssh_key');
  });
});

describe('describeAudit storage', () => {
  it('says what happened to a file, with sizes in human units', () => {
    expect(describeAudit({ action: 'storage.upload', metadata: { path: 'a/b.txt', size: 2048, replaced: true } })).toBe(
      'a/b.txt (2 KB), replacing the old one',
    );
    expect(describeAudit({ action: 'storage.rename', metadata: { from: 'a', to: 'b' } })).toBe('a → b');
    expect(describeAudit({ action: 'storage.delete', metadata: { path: 'd', recursive: true, freed_bytes: 1024 ** 3 } })).toBe(
      'd and everything in it (1 GB freed)',
    );
    expect(describeAudit({ action: 'storage.quota_set', metadata: { quota_bytes: null } })).toBe('Quota back to the default');
    expect(describeAudit({ action: 'storage.quota_set', metadata: { quota_bytes: 5 * 1024 ** 3 } })).toBe('Quota 5 GB');
  });
});
