import { useCallback, useEffect, useState } from 'react';

/**
 * Seconds left of a wait (a 429's Retry-After), ticking once a second.
 *   const wait = useCountdown(); wait.start(err.retryAfter); <button disabled={wait.remaining > 0}>
 */
export function useCountdown(now: () => number = Date.now): {
  remaining: number;
  start: (seconds: number) => void;
} {
  const [until, setUntil] = useState(0);
  const [remaining, setRemaining] = useState(0);

  useEffect(() => {
    if (until === 0) return;
    const update = () => {
      const left = Math.max(0, Math.ceil((until - now()) / 1000));
      setRemaining(left);
      if (left === 0) setUntil(0);
      return left;
    };
    if (update() === 0) return;
    const id = setInterval(update, 250);
    return () => clearInterval(id);
  }, [until, now]);

  const start = useCallback(
    (seconds: number) => {
      if (seconds <= 0) return;
      setRemaining(seconds);
      setUntil(now() + seconds * 1000);
    },
    [now],
  );
  return { remaining, start };
}
