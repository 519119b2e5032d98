// Browser journeys against a running `gpuaas dev`, in headless Debian
// chromium through playwright-core (no browser download). Started by
// scripts/web-e2e.sh, which provides:
//
//   BASE_URL                            the server under test
//   ADMIN_USERNAME/ADMIN_PASSWORD,
//   DEMO_USERNAME/DEMO_PASSWORD         its accounts
//   ARTIFACTS_DIR                       where screenshots and reports go
//   E2E_ONLY                            run only journeys whose name or file contains it
//   CHROMIUM                            the browser (default /usr/bin/chromium)
//
// A journey is a file journeys/<name>.mjs exporting `name` and `run(t)`
// (named exports, or a default export {name, run}). Journeys run one after
// another, each in a fresh browser context (no shared cookies). t holds:
//
//   t.page       a page at 1280×800 with baseURL set, so page.goto('/login') works
//   t.context    its browser context
//   t.browser    the browser, for another signed-in person (browser.newContext)
//   t.newPage(viewport?)  another page in the same context (say viewports.narrow)
//   t.accounts   {admin: {username, password}, demo: {...}}
//   t.baseURL    BASE_URL
//   t.step(label, fn)     runs fn, logging the label, so a failure says where it was
//
// A journey fails on the first thrown error, on an uncaught error in the page,
// or on a Content-Security-Policy violation. Its failure prints the error, the
// step, the page's console errors and a screenshot path.

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

import { ARTIFACTS_DIR, accounts, shot, viewports } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const baseURL = process.env.BASE_URL;
if (!baseURL) {
  console.error('run.mjs: BASE_URL is not set (use scripts/web-e2e.sh)');
  process.exit(2);
}
const only = (process.env.E2E_ONLY || '').toLowerCase();
const journeyTimeout = Number(process.env.E2E_JOURNEY_TIMEOUT_MS || 240_000);

async function loadJourneys() {
  const dir = path.join(here, 'journeys');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.mjs')).sort();
  const out = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(path.join(dir, file)).href);
    const j = mod.default && typeof mod.default.run === 'function' ? mod.default : mod;
    if (typeof j.run !== 'function') throw new Error(`journeys/${file} exports no run function`);
    const name = j.name && typeof j.name === 'string' ? j.name : file.replace(/\.mjs$/, '');
    if (only && !name.toLowerCase().includes(only) && !file.toLowerCase().includes(only)) continue;
    out.push({ file, name, run: j.run });
  }
  return out;
}

function fmtMs(ms) {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

async function runJourney(browser, j) {
  const context = await browser.newContext({ baseURL, viewport: viewports.desktop, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(15_000);
  const consoleErrors = [];
  const pageErrors = [];
  const watch = (page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      consoleErrors.push(`${page.url()}: ${text}`);
      if (/Content.Security.Policy/i.test(text)) pageErrors.push(new Error(`CSP violation: ${text}`));
    });
    page.on('pageerror', (err) => pageErrors.push(err));
  };
  context.on('page', watch);
  const page = await context.newPage();
  let current = '(start)';
  const t = {
    page,
    context,
    browser,
    baseURL,
    accounts,
    newPage: async (viewport = viewports.desktop) => {
      const p = await context.newPage();
      await p.setViewportSize(viewport);
      return p;
    },
    step: async (label, fn) => {
      current = label;
      console.log(`    · ${label}`);
      const v = await fn();
      // An uncaught page error fails the step it happened in.
      if (pageErrors.length) throw pageErrors[0];
      return v;
    },
  };
  const started = Date.now();
  let timer;
  try {
    await Promise.race([
      j.run(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`journey timed out after ${fmtMs(journeyTimeout)}`)), journeyTimeout);
      }),
    ]);
    if (pageErrors.length) throw pageErrors[0];
    console.log(`  ✓ ${j.name} (${fmtMs(Date.now() - started)})`);
    return true;
  } catch (err) {
    console.log(`  ✗ ${j.name} (${fmtMs(Date.now() - started)})`);
    console.log(`    failed at step: ${current}`);
    console.log(`    ${String(err && err.stack ? err.stack : err).replace(/\n/g, '\n    ')}`);
    for (const e of pageErrors.slice(err === pageErrors[0] ? 1 : 0)) console.log(`    page error: ${e.message}`);
    if (consoleErrors.length) {
      console.log('    console errors:');
      for (const e of consoleErrors.slice(-20)) console.log(`      ${e}`);
    }
    for (const [i, p] of context.pages().entries()) {
      try {
        const file = await shot(p, `FAILED-${j.file.replace(/\.mjs$/, '')}${i ? `-${i}` : ''}`, { check: false });
        console.log(`    screenshot: ${file} (${p.url()})`);
      } catch (e) {
        console.log(`    (no screenshot: ${e.message})`);
      }
    }
    return false;
  } finally {
    clearTimeout(timer);
    await context.close().catch(() => {});
  }
}

const journeys = await loadJourneys();
if (!journeys.length) {
  console.error(`run.mjs: no journeys${only ? ` match "${only}"` : ''} in ${path.join(here, 'journeys')}`);
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
console.log(`e2e: ${journeys.length} journey(s) against ${baseURL}, browser ${browser.version()}, artifacts in ${ARTIFACTS_DIR}`);
let failed = 0;
try {
  for (const j of journeys) {
    console.log(`  ▶ ${j.name} (journeys/${j.file})`);
    if (!(await runJourney(browser, j))) failed++;
  }
} finally {
  await browser.close();
}
console.log(`e2e: ${journeys.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
