// The user's journey through the console (issue 6): demo signs in, picks an
// available SKU in the marketplace, creates an allocation, waits for it to
// go active, opens the browser terminal and sees its GPUs in
// $CUDA_VISIBLE_DEVICES, releases it, and finds its usage row in billing;
// then the allocations list, SSH keys (adds one), notifications and profile,
// the marketplace on a 360 px phone, dark mode and the offline indicator.
// Every screen gets an axe scan and a screenshot, and every screenshot checks
// the page for horizontal overflow at 1440 and at 360 px (lib.mjs, shot).
// The allocation is named on creation, and every screen after that must
// show that name rather than its id. Navigation after sign-in goes through the app's own links,
// so the notifications received on the way stay in the page.
import { assert, axeScan, expectText, login, shot, viewports, waitUntil } from '../lib.mjs';

export const name = 'user journey';

// A real ed25519 public key (its private half was thrown away).
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBwAEjjLV8lWJpMNWudsFGjTdjXHrLZzU5Ok4qAIZU1A e2e@console';

// A full-page screenshot of a scrolled page draws the sticky top bar half
// way down; shoot from the top.
async function shotTop(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, name);
}

async function nav(page, label) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
}

export async function run({ page, accounts, step, newPage }) {
  let allocationId = '';
  let gpuUUIDs = [];

  await step('sign in as demo', async () => {
    await page.goto('/login');
    await login(page, accounts.demo.username, accounts.demo.password);
  });

  await step('marketplace lists SKUs with prices and capacity (axe, screenshot)', async () => {
    if (!new URL(page.url()).pathname.startsWith('/marketplace')) await nav(page, 'Marketplace');
    await page.locator('.sku-card').first().waitFor();
    await expectText(page, '/ hour');
    await expectText(page, /\d+ available|Sold out/);
    // Wait for the balance, so the screenshot shows the runway too.
    await page.locator('.page-balance').waitFor();
    await axeScan(page, 'marketplace');
    await shot(page, 'marketplace');
  });

  await step('create an allocation on an available SKU', async () => {
    const create = page.locator('.sku-card').getByRole('button', { name: /^Create / }).first();
    const label = await create.getAttribute('aria-label');
    await create.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expectText(dialog, 'Estimated cost');
    await waitUntil(async () => /\d/.test((await dialog.getByTestId('estimate-runway').textContent()) || ''), {
      message: 'the runway estimate in the create dialog',
      timeout: 10_000,
    });
    await dialog.getByLabel('Name (optional)').fill('e2e-user-journey');
    await axeScan(page, 'marketplace-create-dialog');
    await shot(page, 'marketplace-create-dialog');
    await dialog.getByRole('button', { name: /^Create for / }).click();
    await page.waitForURL(/\/allocations\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    allocationId = new URL(page.url()).pathname.split('/').pop();
    console.log(`      created ${allocationId} (${label})`);
  });

  await step('the allocation goes active on its page (axe, screenshot)', async () => {
    await waitUntil(
      async () => (await page.getByTestId('status-banner').getAttribute('data-status')) === 'active',
      { timeout: 90_000, message: `allocation ${allocationId} to become active` },
    );
    await page.getByTestId('connection').waitFor();
    await expectText(page, /^ssh /);
    await expectText(page, `gpuaas ssh ${allocationId}`);
    gpuUUIDs = await page.getByTestId('gpu-uuids').locator('code').allInnerTexts();
    assert(gpuUUIDs.length > 0, 'the allocation page lists no GPU UUIDs');
    await axeScan(page, 'allocation-detail');
    await shot(page, 'allocation-detail');
  });

  await step('open the terminal and see the GPUs in $CUDA_VISIBLE_DEVICES', async () => {
    await page.getByRole('button', { name: 'Open terminal' }).click();
    const panel = page.getByTestId('terminal-panel');
    await waitUntil(async () => (await panel.getAttribute('data-phase')) === 'ready', {
      timeout: 20_000,
      message: 'the terminal to report session_ready',
    });
    // Type once the shell has printed its prompt.
    await waitUntil(async () => (await page.locator('.xterm-rows').innerText()).trim().length > 0, {
      timeout: 10_000,
      message: 'the shell prompt',
    });
    await page.locator('.xterm').click();
    await page.keyboard.type('echo $CUDA_VISIBLE_DEVICES');
    await page.keyboard.press('Enter');
    const text = await waitUntil(
      async () => {
        // Rows joined without breaks, since xterm wraps long lines.
        const t = (await page.locator('.xterm-rows > div').allInnerTexts()).join('');
        // The echo's output line holds every UUID (the typed line holds none).
        return gpuUUIDs.every((u) => t.includes(u)) ? t : null;
      },
      { timeout: 20_000, message: `the terminal to print ${gpuUUIDs.join(',')}` },
    );
    assert(text.includes('echo $CUDA_VISIBLE_DEVICES'), 'the typed command is not on the terminal');
    await axeScan(page, 'allocation-terminal');
    await shotTop(page, 'allocation-terminal');
  });

  await step('release it after confirming', async () => {
    await page.getByRole('button', { name: 'Release', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Release this allocation?' });
    await dialog.waitFor();
    // The dialog, its confirm button included, fits a phone (shot checks 360 px).
    await shot(page, 'allocation-release-dialog');
    await dialog.getByRole('button', { name: 'Release', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitUntil(
      async () => (await page.getByTestId('status-banner').getAttribute('data-status')) === 'released',
      { timeout: 60_000, message: `allocation ${allocationId} to be released` },
    );
    await waitUntil(async () => (await page.getByTestId('terminal-panel').getAttribute('data-phase')) === 'closed', {
      timeout: 10_000,
      message: 'the terminal to close on release',
    });
    // Once released, the cost is final, not "so far".
    await waitUntil(async () => (await page.locator('dt', { hasText: 'Final cost' }).count()) > 0, {
      timeout: 20_000,
      message: 'the released allocation to show its final cost',
    });
    await shotTop(page, 'allocation-released');
  });

  await step('billing shows the usage row of that allocation (axe, screenshot)', async () => {
    await nav(page, 'Billing');
    const table = page.getByRole('table', { name: 'Usage windows' });
    await table.waitFor();
    // The usage row names the allocation by its name.
    const link = table.getByRole('link', { name: 'e2e-user-journey' });
    await link.waitFor({ timeout: 15_000 });
    await page.getByTestId('balance').waitFor();
    await axeScan(page, 'billing');
    await shot(page, 'billing');
  });

  await step('allocations list: filter, search and "Showing x of y" (axe, screenshot)', async () => {
    await nav(page, 'Allocations');
    await page.getByTestId('showing').waitFor();
    await page.getByLabel('Search').fill(allocationId.slice(0, 8));
    await waitUntil(async () => /^Showing 1 of \d+/.test(await page.getByTestId('showing').innerText()), {
      message: 'the search to narrow the list to one allocation',
      timeout: 10_000,
    });
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status').selectOption('released');
    await page.locator(`tr[data-row-key="${allocationId}"]`).waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.locator(`tr[data-row-key="${allocationId}"]`).waitFor();
    await axeScan(page, 'allocations');
    await shot(page, 'allocations');
  });

  await step('SSH keys: add a key (axe, screenshot)', async () => {
    await nav(page, 'SSH keys');
    await page.getByRole('button', { name: /^Add (your first )?key$/ }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add an SSH key' });
    await dialog.getByLabel('Public key').fill(PUBLIC_KEY);
    assert((await dialog.getByLabel('Name').inputValue()) === 'e2e@console', 'the key comment did not become the name');
    await axeScan(page, 'keys-add-dialog');
    await dialog.getByRole('button', { name: 'Add key' }).click();
    await dialog.waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Your SSH keys' });
    await table.getByText('e2e@console', { exact: true }).waitFor();
    await expectText(table, /SHA256:/);
    await axeScan(page, 'keys');
    await shot(page, 'keys');
    // The same key again: the server's refusal fits the dialog on a phone too.
    await page.getByRole('button', { name: /^Add (your first )?key$/ }).first().click();
    const again = page.getByRole('dialog', { name: 'Add an SSH key' });
    await again.getByLabel('Public key').fill(PUBLIC_KEY);
    await again.getByLabel('Name').fill('e2e again');
    await again.getByRole('button', { name: 'Add key' }).click();
    await expectText(again, 'You have already added this SSH key.');
    await axeScan(page, 'keys-add-dialog-error');
    await shot(page, 'keys-add-dialog-error');
    await again.getByRole('button', { name: 'Cancel' }).click();
    await again.waitFor({ state: 'detached' });
  });

  await step('notifications centre lists what happened to the allocation (axe, screenshot)', async () => {
    await nav(page, 'Notifications');
    // The console's words, or the server's stored ones ("e2e-user-journey" is ready / was released).
    await expectText(page, /"?e2e-user-journey"? (is active|is ready|was released)/, { timeout: 15_000 });
    const bell = await page.getByTestId('bell').getAttribute('aria-label');
    assert(bell === 'Notifications', `the bell still says "${bell}" on the notifications centre`);
    await axeScan(page, 'notifications');
    await shot(page, 'notifications');
  });

  await step('profile (axe, screenshot)', async () => {
    await page.getByTestId('user-menu').click();
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.waitForURL(/\/settings\/profile$/);
    await expectText(page, 'Change password');
    await axeScan(page, 'profile');
    await shot(page, 'profile');
  });

  await step('when the server says no: a 402 in words with money, short credit disables Create, a failed list (360 px)', async () => {
    const envelope = (code, message, details) =>
      JSON.stringify({ code, message, correlation_id: `e2e-${code}`, ...(details ? { details } : {}) });
    // A 402 with the figures: the dialog says it in money from minor units, once.
    await page.route('**/api/v1/allocations', (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({
            status: 402,
            contentType: 'application/json',
            body: envelope('insufficient_funds', '25 USD of credit is needed', {
              required_minor: 25,
              balance_minor: 0,
              currency: 'USD',
              burn_rate_per_hour_minor: 150,
              min_runway_seconds: 600,
            }),
          })
        : route.fallback(),
    );
    await nav(page, 'Marketplace');
    await page.locator('.sku-card').getByRole('button', { name: /^Create / }).first().click();
    const dialog = page.getByRole('dialog');
    // demo has a key by now: the dialog offers it, ticked (all keys by default).
    await dialog.getByTestId('key-choice').getByRole('checkbox', { name: /e2e@console/ }).waitFor();
    await dialog.getByRole('button', { name: /^Create for / }).click();
    const box = dialog.getByTestId('error-box');
    await box.waitFor();
    const said = await box.innerText();
    assert(said.includes('Not enough credit: this needs USD 0.25'), `the 402 says "${said}"`);
    assert(!/HTTP \d|25 USD/.test(said), `the 402 shows raw text: "${said}"`);
    await axeScan(page, 'marketplace-create-402');
    await shot(page, 'marketplace-create-402');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.unroute('**/api/v1/allocations');

    // No credit left: every card says why and Create is off.
    await page.route('**/api/v1/billing/balance', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ user_id: 'x', balance_minor: 0, currency: 'USD', unbilled_minor: 0, burn_rate_per_hour_minor: 0, runway_seconds: null }),
      }),
    );
    await page.reload();
    const card = page.locator('.sku-card:not(.sold-out)').first();
    await card.getByTestId('sku-short').waitFor();
    assert(await card.getByRole('button', { name: /^Create / }).isDisabled(), 'Create is on with no credit');
    await shot(page, 'marketplace-no-credit');
    await page.unroute('**/api/v1/billing/balance');

    // A list that fails to load says so in words, and fits a phone.
    await page.route('**/api/v1/billing/usage**', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: envelope('unavailable', 'database is down') }),
    );
    await nav(page, 'Billing');
    await expectText(page, 'The service is briefly unavailable.');
    await shot(page, 'billing-error');
    await page.unroute('**/api/v1/billing/usage**');
  });

  await step('dark mode follows the system, and the user menu overrides it (axe, screenshot)', async () => {
    await nav(page, 'Marketplace');
    await page.locator('.sku-card').first().waitFor();
    await page.emulateMedia({ colorScheme: 'dark' });
    await waitUntil(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', {
      message: 'the console to turn dark with the system setting',
      timeout: 5_000,
    });
    await axeScan(page, 'marketplace-dark');
    await shot(page, 'marketplace-dark');
    // The other screens in dark too: contrast is what changes.
    for (const [label, name] of [
      ['Allocations', 'allocations-dark'],
      ['Billing', 'billing-dark'],
      ['SSH keys', 'keys-dark'],
      ['Notifications', 'notifications-dark'],
    ]) {
      await nav(page, label);
      await page.getByRole('heading', { level: 1, name: label === 'SSH keys' ? /SSH keys/ : label }).waitFor();
      await page.waitForLoadState('networkidle');
      await axeScan(page, name);
    }
    await page.goto(`/allocations/${allocationId}`);
    await page.getByTestId('status-banner').waitFor();
    await axeScan(page, 'allocation-detail-dark');
    await shot(page, 'allocation-detail-dark');
    await nav(page, 'Marketplace');
    await page.locator('.sku-card').first().waitFor();
    await page.getByTestId('user-menu').click();
    await page.getByTestId('theme-choice').getByRole('button', { name: 'Light' }).click();
    assert((await page.evaluate(() => document.documentElement.dataset.theme)) === 'light', 'the Light choice did not apply');
    await page.getByTestId('theme-choice').getByRole('button', { name: 'System' }).click();
    assert((await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'System did not follow the dark setting');
    await page.keyboard.press('Escape');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('offline: the top bar says so, and says nothing once back', async () => {
    await page.context().setOffline(true);
    const indicator = page.getByTestId('connection-indicator');
    await indicator.waitFor({ timeout: 10_000 });
    assert((await indicator.innerText()).includes('Offline'), `the indicator says "${await indicator.innerText()}"`);
    await shot(page, 'offline-indicator');
    await page.context().setOffline(false);
    await indicator.waitFor({ state: 'detached', timeout: 30_000 });
  });

  await step('marketplace and the allocation on a phone (360 px)', async () => {
    const narrow = await newPage(viewports.phone);
    await narrow.goto('/marketplace');
    await narrow.locator('.sku-card').first().waitFor();
    await narrow.locator('.page-balance').waitFor();
    await axeScan(narrow, 'marketplace-narrow');
    await shot(narrow, 'marketplace-narrow');
    await narrow.goto(`/allocations/${allocationId}`);
    await narrow.getByTestId('status-banner').waitFor();
    await shot(narrow, 'allocation-detail-narrow');
    // The menu button opens the navigation; the user menu (theme choice included) fits too.
    await narrow.getByRole('button', { name: 'Menu' }).click();
    await narrow.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing', exact: true }).click();
    await narrow.waitForURL(/\/billing$/);
    await narrow.getByTestId('balance').waitFor();
    await shot(narrow, 'billing-narrow');
    await narrow.getByTestId('user-menu').click();
    await narrow.getByTestId('theme-choice').waitFor();
    await axeScan(narrow, 'user-menu-narrow');
    await shot(narrow, 'user-menu-narrow');
    await narrow.keyboard.press('Escape');
    await narrow.close();
  });
}
