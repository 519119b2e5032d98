import { afterEach, describe, expect, it } from 'vitest';
import { applyTheme, effectiveTheme, getThemePref, setThemePref } from './theme';

afterEach(() => localStorage.clear());

describe('theme', () => {
  it('follows the system unless a theme was chosen', () => {
    expect(getThemePref()).toBe('system');
    expect(effectiveTheme('system', true)).toBe('dark');
    expect(effectiveTheme('system', false)).toBe('light');
    expect(effectiveTheme('light', true)).toBe('light');
    expect(effectiveTheme('dark', false)).toBe('dark');
  });
  it('keeps the choice and writes it to <html data-theme>', () => {
    setThemePref('dark');
    expect(getThemePref()).toBe('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    setThemePref('system');
    expect(localStorage.getItem('gpuaas.theme')).toBeNull();
    applyTheme();
    expect(document.documentElement.dataset.theme).toMatch(/^(light|dark)$/);
  });
});
