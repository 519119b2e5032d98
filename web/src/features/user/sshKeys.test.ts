import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors';
import { fieldOfError, keyComment, precheckKey, precheckName } from './sshKeys';

const ed = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

describe('ssh key form', () => {
  it('takes the comment as a default name', () => {
    expect(keyComment(`${ed} me@laptop`)).toBe('me@laptop');
    expect(keyComment(ed)).toBe('');
    expect(keyComment('garbage words here')).toBe('');
  });
  it('catches obvious mistakes before sending', () => {
    expect(precheckKey(ed)).toBeUndefined();
    expect(precheckKey('')).toMatch(/Paste/);
    expect(precheckKey('-----BEGIN OPENSSH PRIVATE KEY-----\nabc')).toMatch(/private key/);
    expect(precheckKey('ssh-dss AAAA')).toMatch(/key type/);
    expect(precheckName(' ')).toMatch(/name/);
    expect(precheckName('x'.repeat(65))).toMatch(/64/);
    expect(precheckName('laptop')).toBeUndefined();
  });
  it('puts API errors on the field they concern', () => {
    const e = (code: string, message = '') => new ApiError({ status: 400, code, message });
    expect(fieldOfError(e('invalid_ssh_key'))).toBe('public_key');
    expect(fieldOfError(e('duplicate_key'))).toBe('public_key');
    expect(fieldOfError(e('invalid_request', 'name must be 1 to 64 characters'))).toBe('name');
    expect(fieldOfError(e('too_many_keys'))).toBeNull();
  });
});
