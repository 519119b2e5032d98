import { describe, expect, it } from 'vitest';
import { addRetained, dismiss, loadRetained, markAllRead, saveRetained, storageKey, unreadCount } from './retained';

const n = (id: string, type = 'allocation.status') => ({ id, type, status: 'active', allocation_id: 'a-' + id, receivedAt: new Date('2026-11-27T10:00:00Z') });

describe('retained notifications', () => {
  it('adds newest first, once per id, within the cap', () => {
    let l = addRetained([], n('1'));
    l = addRetained(l, n('2'));
    l = addRetained(l, n('1'));
    expect(l.map((x) => x.id)).toEqual(['2', '1']);
    expect(unreadCount(l)).toBe(2);
    for (let i = 3; i < 10; i++) l = addRetained(l, n(String(i)), 5);
    expect(l).toHaveLength(5);
    expect(l[0]?.id).toBe('9');
  });

  it('marks read and dismisses', () => {
    let l = addRetained(addRetained([], n('1')), n('2'));
    l = markAllRead(l);
    expect(unreadCount(l)).toBe(0);
    expect(markAllRead(l)).toBe(l); // nothing to change: same list
    l = dismiss(l, '1');
    expect(l.map((x) => x.id)).toEqual(['2']);
  });

  it('survives a reload through storage, per user, and ignores garbage', () => {
    localStorage.clear();
    const l = markAllRead(addRetained([], n('1')));
    saveRetained(localStorage, 'u1', addRetained(l, n('2')));
    const back = loadRetained(localStorage, 'u1');
    expect(back.map((x) => [x.id, x.read])).toEqual([['2', false], ['1', true]]);
    expect(back[0]?.receivedAt).toBeInstanceOf(Date);
    expect(loadRetained(localStorage, 'u2')).toEqual([]);
    localStorage.setItem(storageKey('u3'), '{not json');
    expect(loadRetained(localStorage, 'u3')).toEqual([]);
    localStorage.setItem(storageKey('u4'), JSON.stringify([{ id: 1 }, { id: 'x', type: 't', receivedAt: 'nope' }, null]));
    expect(loadRetained(localStorage, 'u4')).toEqual([]);
  });
});
