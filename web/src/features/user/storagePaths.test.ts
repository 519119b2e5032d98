import { describe, expect, it } from 'vitest';
import { baseName, breadcrumbs, joinPath, nameProblem, normalizePath, parentPath, pathFromQuery, PathError } from './storagePaths';

describe('storage paths', () => {
  it('joins without double slashes, leading slash or dots', () => {
    expect(joinPath('', 'a.txt')).toBe('a.txt');
    expect(joinPath('/', 'a.txt')).toBe('a.txt');
    expect(joinPath('data/', '/a.txt')).toBe('data/a.txt');
    expect(joinPath('data//sets', './x', 'y.bin')).toBe('data/sets/x/y.bin');
    expect(joinPath('a', 'folder/inside/f.txt')).toBe('a/folder/inside/f.txt');
    expect(joinPath('', '')).toBe('');
  });

  it('refuses ".." anywhere', () => {
    expect(() => joinPath('a', '../b')).toThrow(PathError);
    expect(() => joinPath('..', 'b')).toThrow(PathError);
    expect(() => normalizePath('a/../../etc')).toThrow(PathError);
    // A name that merely contains two dots is fine.
    expect(joinPath('a', '..hidden', 'x..y')).toBe('a/..hidden/x..y');
  });

  it('builds the breadcrumb from the root', () => {
    expect(breadcrumbs('')).toEqual([{ label: 'Storage', path: '' }]);
    expect(breadcrumbs('/data/sets/')).toEqual([
      { label: 'Storage', path: '' },
      { label: 'data', path: 'data' },
      { label: 'sets', path: 'data/sets' },
    ]);
  });

  it('finds the parent and the name', () => {
    expect(parentPath('a/b/c')).toBe('a/b');
    expect(parentPath('a')).toBe('');
    expect(baseName('a/b/c.txt')).toBe('c.txt');
    expect(baseName('')).toBe('');
  });

  it('reads ?path= leniently: a bad one is the root', () => {
    expect(pathFromQuery(null)).toBe('');
    expect(pathFromQuery('/x//y')).toBe('x/y');
    expect(pathFromQuery('../etc')).toBe('');
  });

  it('checks a typed name', () => {
    expect(nameProblem('results.csv')).toBeUndefined();
    expect(nameProblem('  ')).toBe('Type a name.');
    expect(nameProblem('..')).toBe('That name is reserved.');
    expect(nameProblem('a/b')).toMatch(/“\/”/);
    expect(nameProblem('a\u202eb')).toMatch(/control/);
    expect(nameProblem('é'.repeat(128))).toMatch(/255 bytes/);
    expect(nameProblem('e'.repeat(255))).toBeUndefined();
  });
});
