// Light or dark: the system's setting (prefers-color-scheme) unless the user
// chose one in the user menu, kept in this browser. The effective theme is
// written to <html data-theme>, which styles.css keys its dark variables on;
// a system change applies at once while the preference is "system".
import { useCallback, useSyncExternalStore } from 'react';

export type ThemePref = 'system' | 'light' | 'dark';
const KEY = 'gpuaas.theme';
const listeners = new Set<() => void>();

function storage(): Storage | undefined {
  try {
    return typeof window === 'undefined' ? undefined : window.localStorage;
  } catch {
    return undefined;
  }
}

export function getThemePref(): ThemePref {
  const v = storage()?.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

function systemDark(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function'
    ? window.matchMedia('(prefers-color-scheme: dark)').matches
    : false;
}

export function effectiveTheme(pref: ThemePref = getThemePref(), dark = systemDark()): 'light' | 'dark' {
  return pref === 'system' ? (dark ? 'dark' : 'light') : pref;
}

export function applyTheme(): void {
  if (typeof document === 'undefined') return;
  document.documentElement.dataset.theme = effectiveTheme();
  listeners.forEach((l) => l());
}

export function setThemePref(p: ThemePref): void {
  const s = storage();
  if (p === 'system') s?.removeItem(KEY);
  else s?.setItem(KEY, p);
  applyTheme();
}

/** Applies the theme now and follows the system setting from then on. */
export function startTheme(): void {
  applyTheme();
  if (typeof window !== 'undefined' && typeof window.matchMedia === 'function') {
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  }
}

export function useThemePref(): [ThemePref, (p: ThemePref) => void] {
  const pref = useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    getThemePref,
    () => 'system' as ThemePref,
  );
  return [pref, useCallback((p: ThemePref) => setThemePref(p), [])];
}
