/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

// The Go control plane serves the console; `npm run dev` proxies to a running
// `gpuaas dev` (override with GPUAAS_URL).
const backend = process.env.GPUAAS_URL ?? 'http://127.0.0.1:8080';

// Go's embed needs web/dist to exist on a fresh clone, so web/dist/.gitkeep is
// committed; vite empties dist on every build, so put it back afterwards.
function keepDist(): Plugin {
  return {
    name: 'gpuaas-keep-dist',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(import.meta.dirname, 'dist/.gitkeep'), '');
    },
  };
}

export default defineConfig({
  plugins: [react(), keepDist()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/ws': { target: backend, ws: true },
      '/.well-known': { target: backend },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Hashed names under assets/ (vite's default): the server caches them forever.
    assetsDir: 'assets',
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    // One jsdom for all files instead of one per file (99 s → 21 s on a
    // 2-core machine), so each test must leave it as it found it:
    // src/test/setup.ts unmounts and empties storage, and stubbed globals
    // (fetch, WebSocket, URL) go back after every test.
    isolate: false,
    unstubGlobals: true,
  },
});
