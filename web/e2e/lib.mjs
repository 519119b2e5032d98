// Helpers for the browser journeys in journeys/*.mjs. A journey imports what
// it needs:
//
//   import { login, shot, axeScan, expectText, waitUntil } from '../lib.mjs';
//
// Every helper throws an Error with a message that says what was expected
// and where; run.mjs turns that into the failure report and a screenshot.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** Where screenshots and reports go (scripts/web-e2e.sh sets it). */
export const ARTIFACTS_DIR = path.resolve(process.env.ARTIFACTS_DIR || new URL('./artifacts', import.meta.url).pathname);

/** The accounts of the `gpuaas dev` under test. */
export const accounts = {
  admin: { username: process.env.ADMIN_USERNAME || 'admin', password: process.env.ADMIN_PASSWORD || '' },
  demo: { username: process.env.DEMO_USERNAME || 'demo', password: process.env.DEMO_PASSWORD || '' },
};

/** Viewports the console must work at: a laptop and the narrowest common phone. */
export const viewports = {
  desktop: { width: 1440, height: 900 },
  phone: { width: 360, height: 740 },
};
/** Kept for journeys written before the phone size was 360 px. */
viewports.narrow = viewports.phone;

function slug(name) {
  return String(name).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'shot';
}

/**
 * Fails when anything on the page reaches past the right edge of the
 * viewport: the document scrolls sideways (scrollWidth > clientWidth), or a
 * visible element that no scrolling or clipping box contains ends beyond the
 * edge (which also catches fixed dialogs, whose overflow never scrolls). A
 * wide command or table inside its own overflow box is fine; the box itself
 * is checked. The message names the first offenders with their right edge.
 */
export async function assertNoOverflow(page, name) {
  const r = await page.evaluate(() => {
    const de = document.documentElement;
    const vw = de.clientWidth;
    const scroll = Math.max(de.scrollWidth, document.body.scrollWidth);
    const describe = (el) => {
      let d = el.tagName.toLowerCase();
      if (el.id) d += `#${el.id}`;
      const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).filter(Boolean).slice(0, 3) : [];
      if (cls.length) d += `.${cls.join('.')}`;
      const t = (el.getAttribute('data-testid') || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
      return t ? `${d} "${t}"` : d;
    };
    const contained = (el) => {
      for (let p = el.parentElement; p && p !== document.body && p !== de; p = p.parentElement) {
        if (getComputedStyle(p).overflowX !== 'visible') return true;
      }
      return false;
    };
    const offenders = [];
    for (const el of document.body.querySelectorAll('*')) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0 || rect.right <= vw + 1) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || cs.display === 'none' || cs.position === 'absolute' && rect.width <= 1) continue;
      if (contained(el)) continue;
      offenders.push(`${describe(el)} right=${Math.round(rect.right)}`);
    }
    if (scroll <= vw && offenders.length === 0) return null;
    return { vw, scroll, offenders: offenders.slice(-8) };
  });
  if (r) {
    throw new Error(
      `horizontal overflow on "${name}" at ${r.vw} px (${page.url()}): the page is ${r.scroll} px wide` +
        (r.offenders.length ? `; past the right edge:\n      ${r.offenders.join('\n      ')}` : ''),
    );
  }
}

async function settle(page) {
  await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(() => res()))));
  await page.waitForTimeout(150);
}

/**
 * Saves a full-page PNG of page as ARTIFACTS_DIR/<name>.png and returns its
 * path, after checking the page has no horizontal overflow. A page wider than
 * a phone is then also checked (and shot, as <name>-360.png) at 360 px wide,
 * in the state it is in (an open dialog included), and put back: so every
 * screen a journey photographs is checked at 1440 and at 360 px. { check:
 * false } only saves the picture (the failure screenshots).
 */
export async function shot(page, name, { check = true } = {}) {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  if (!check) {
    const file = path.join(ARTIFACTS_DIR, `${slug(name)}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }
  await assertNoOverflow(page, name);
  const file = path.join(ARTIFACTS_DIR, `${slug(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const size = page.viewportSize();
  if (size && size.width > viewports.phone.width) {
    await page.setViewportSize(viewports.phone);
    try {
      await settle(page);
      await assertNoOverflow(page, `${name} at 360 px`);
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `${slug(name)}-360.png`), fullPage: true });
    } finally {
      await page.setViewportSize(size);
      await settle(page);
    }
  }
  return file;
}

/**
 * Signs in through the login screen and waits until the app has left /login.
 * The form is found by its accessible names, as a screen reader user would.
 */
export async function login(page, username, password) {
  if (!password) throw new Error(`login(${username}): no password (set ADMIN_PASSWORD / DEMO_PASSWORD)`);
  if (!new URL(page.url(), 'http://x').pathname.startsWith('/login')) {
    await page.goto('/login');
  }
  await page.getByLabel(/user ?name/i).fill(username);
  await page.getByLabel(/^password/i).fill(password);
  await page.getByRole('button', { name: /sign in|log in/i }).click();
  try {
    await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15_000 });
  } catch {
    const alert = await page.getByRole('alert').allInnerTexts().catch(() => []);
    throw new Error(`login(${username}) stayed on ${page.url()}${alert.length ? `; the page says: ${alert.join(' | ')}` : ''}`);
  }
}

let axeSource;

/**
 * Runs axe-core on the page as it is now and fails on any violation of
 * impact serious or critical, listing each with the elements it concerns.
 * The full result is kept as ARTIFACTS_DIR/axe-<name>.json. opts.exclude
 * takes CSS selectors to leave out (say, a third-party widget), with a reason.
 */
export async function axeScan(page, name, opts = {}) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // page.evaluate runs through the DevTools protocol, which the console's
  // Content-Security-Policy (no inline scripts) does not block, unlike an
  // inline <script> tag; the CSP stays on, so the journeys test it too.
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(axeSource);
  const result = await page.evaluate(
    async ({ exclude }) => {
      const context = exclude && exclude.length ? { exclude: exclude.map((s) => [s]) } : document;
      const r = await window.axe.run(context, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      }));
    },
    { exclude: opts.exclude || [] },
  );
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await writeFile(path.join(ARTIFACTS_DIR, `axe-${slug(name)}.json`), JSON.stringify(result, null, 2));
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => {
      const nodes = v.nodes.slice(0, 5).map((n) => `      at ${n.target}\n        ${String(n.summary).replace(/\n/g, '\n        ')}`);
      const more = v.nodes.length > 5 ? [`      … and ${v.nodes.length - 5} more`] : [];
      return [`  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`, ...nodes, ...more].join('\n');
    });
    throw new Error(`axe found ${bad.length} serious or critical violation(s) on "${name}" (${page.url()}):\n${lines.join('\n')}`);
  }
  return result;
}

/**
 * Waits until text (a string, matched as a substring, or a RegExp) is visible
 * in scope (a page or a locator) and returns its locator.
 */
export async function expectText(scope, text, { timeout = 15_000 } = {}) {
  const loc = scope.getByText(text).first();
  try {
    await loc.waitFor({ state: 'visible', timeout });
  } catch {
    const page = typeof scope.page === 'function' ? scope.page() : scope;
    throw new Error(`expected to see ${text instanceof RegExp ? text : JSON.stringify(text)} within ${timeout} ms on ${page.url()}`);
  }
  return loc;
}

/**
 * Polls fn until it returns a truthy value and returns that value; fails
 * with message after timeout ms. For state that appears later (an allocation
 * going active, a row in the audit log after a refresh).
 */
export async function waitUntil(fn, { timeout = 30_000, interval = 250, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Fails with message unless cond is truthy. */
export function assert(cond, message) {
  if (!cond) throw new Error(message);
}
