import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

// Test files share one browser environment (vite.config.ts: isolate off),
// so each test leaves it as it found it: nothing rendered, nothing stored.
afterEach(() => {
  cleanup();
  localStorage.clear();
  sessionStorage.clear();
});
