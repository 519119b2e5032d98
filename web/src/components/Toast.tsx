// Short-lived messages after an action ("Key added", "Release requested").
//   const toast = useToast(); toast({ tone: 'success', title: 'Key added' });
// Toasts are also announced through the live region.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { useAnnounce } from './Announcer';

export type ToastTone = 'info' | 'success' | 'warning' | 'danger';

export interface ToastInput {
  title: string;
  message?: string;
  tone?: ToastTone;
  /** ms; 0 keeps it until dismissed. Default 5000. */
  duration?: number;
}

interface ToastItem extends Required<Omit<ToastInput, 'message'>> {
  id: number;
  message?: string;
}

const ToastContext = createContext<(t: ToastInput) => void>(() => {});

export function ToastProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ToastItem[]>([]);
  const nextId = useRef(1);
  const announce = useAnnounce();
  const dismiss = useCallback((id: number) => setItems((xs) => xs.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (t: ToastInput) => {
      const item: ToastItem = { id: nextId.current++, tone: 'info', duration: 5000, ...t };
      setItems((xs) => [...xs.slice(-3), item]);
      announce(t.message ? `${t.title}. ${t.message}` : t.title, t.tone === 'danger' ? 'assertive' : 'polite');
      if (item.duration > 0) setTimeout(() => dismiss(item.id), item.duration);
    },
    [announce, dismiss],
  );
  const value = useMemo(() => push, [push]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="toasts">
        {items.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`}>
            <div className="toast-body">
              <strong>{t.title}</strong>
              {t.message && <span>{t.message}</span>}
            </div>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): (t: ToastInput) => void {
  return useContext(ToastContext);
}
