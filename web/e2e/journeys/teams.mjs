// Teams (issue 15): a person signs in through the OIDC provider (Hydra,
// started by scripts/web-e2e.sh) and is created on first sign-in, creates a
// team, adds demo as a member, has an admin credit the team from the
// admin's Teams page, launches an allocation billed to the
// team, and demo, signed in in another browser, switches to the team and
// sees it. Screens get an axe scan and a photograph at 1440 and 360 px.
import { assert, axeScan, expectText, login, shot, waitUntil } from '../lib.mjs';

export const name = 'teams: sign in through the provider, create a team, add a member, share an allocation';

export async function run({ page, browser, accounts, baseURL, step }) {
  if (!process.env.E2E_OIDC) {
    console.log('      skipped: no OIDC provider (scripts/ensure-services.sh hydra builds Hydra)');
    return;
  }
  const stamp = Date.now().toString(36);
  const person = `ada-${stamp}`;
  const slug = `lab-${stamp}`;
  let allocationId = '';

  await step('sign in through the provider; the account is created at first sign-in', async () => {
    await page.goto('/login');
    await page.getByRole('button', { name: /Sign in with/ }).or(page.getByRole('link', { name: /Sign in with/ })).first().click();
    await page.getByTestId('idp-username').fill(person);
    await page.getByTestId('idp-submit').click();
    await page.waitForURL((u) => u.origin === new URL(baseURL).origin && !u.pathname.startsWith('/login'), { timeout: 20_000 });
    await page.getByTestId('user-menu').waitFor();
    await expectText(page.getByTestId('user-menu'), person);
  });

  await step('create a team from the Teams page (axe, screenshot)', async () => {
    await page.getByRole('link', { name: 'Teams' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Teams' }).waitFor();
    await axeScan(page, 'teams-empty');
    await page.getByTestId('create-team').click();
    const dialog = page.getByRole('dialog', { name: 'Create a team' });
    await dialog.waitFor();
    await dialog.getByTestId('team-name').fill(`Lab ${stamp}`);
    await dialog.getByTestId('team-slug').fill(slug);
    await axeScan(page, 'teams-create-dialog');
    await shot(page, 'teams-create-dialog');
    await dialog.getByRole('button', { name: 'Create team' }).click();
    await page.waitForURL(new RegExp(`/teams/${slug}$`));
    await page.getByRole('heading', { level: 1, name: `Lab ${stamp}` }).waitFor();
  });

  await step('add demo as a member (axe, screenshot)', async () => {
    const form = page.getByTestId('add-member-form');
    await form.getByTestId('member-username').fill(accounts.demo.username);
    await form.getByRole('button', { name: 'Add member' }).click();
    await expectText(page.getByRole('table'), accounts.demo.username);
    await axeScan(page, 'team-members');
    await shot(page, 'team-members');
  });

  await step("an admin credits the team from the admin's Teams page (axe, screenshot)", async () => {
    const other = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
    try {
      const admin = await other.newPage();
      await admin.goto('/login');
      await login(admin, accounts.admin.username, accounts.admin.password);
      await admin.goto('/admin/teams');
      await admin.getByRole('link', { name: `Lab ${stamp}` }).click();
      await admin.waitForURL(new RegExp(`/admin/teams/${slug}$`));
      await admin.getByLabel(/^Amount/).fill('500.00');
      await admin.getByLabel('Reason').fill('e2e team grant');
      await axeScan(admin, 'admin-team-balance');
      await shot(admin, 'admin-team-balance');
      await admin.getByRole('button', { name: /^Credit / }).click();
      await expectText(admin.getByTestId('user-balance'), '500.00');
    } finally {
      await other.close();
    }
    await page.reload();
    await waitUntil(async () => /500\.00/.test((await page.locator('.topbar-balance').textContent()) || ''), {
      message: "the team's balance in the top bar",
      timeout: 15_000,
    });
  });

  await step('launch an allocation billed to the team', async () => {
    assert((await page.getByTestId('account-switcher').inputValue()) === slug, 'the new team is not the account acted for');
    await page.getByRole('link', { name: 'Marketplace' }).first().click();
    await page.locator('.sku-card').first().waitFor();
    await page.locator('.sku-card').getByRole('button', { name: /^Create / }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expectText(dialog.getByTestId('billed-to'), `Team Lab ${stamp}`);
    await dialog.getByLabel('Name (optional)').fill('e2e-team-run');
    await shot(page, 'team-create-allocation');
    await dialog.getByRole('button', { name: /^Create for / }).click();
    await page.waitForURL(/\/allocations\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    allocationId = new URL(page.url()).pathname.split('/').pop();
    await waitUntil(async () => (await page.getByTestId('status-banner').getAttribute('data-status')) === 'active', {
      timeout: 90_000,
      message: `allocation ${allocationId} to become active`,
    });
  });

  await step("demo sees it from their own session after switching to the team (axe, screenshot)", async () => {
    const other = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
    try {
      const demo = await other.newPage();
      await demo.goto('/login');
      await login(demo, accounts.demo.username, accounts.demo.password);
      await demo.getByTestId('account-switcher').selectOption(slug);
      await demo.goto('/allocations');
      await expectText(demo.getByRole('table'), 'e2e-team-run', { timeout: 20_000 });
      await axeScan(demo, 'team-allocations-as-member');
      await shot(demo, 'team-allocations-as-member');
      await demo.goto(`/allocations/${allocationId}`);
      await waitUntil(async () => (await demo.getByTestId('status-banner').getAttribute('data-status')) === 'active', {
        timeout: 20_000,
        message: 'the team allocation on the member page',
      });
      // Back to personal: the team's allocation is not among demo's own.
      await demo.getByTestId('account-switcher').selectOption('');
      await demo.goto('/allocations');
      await demo.getByRole('heading', { level: 1 }).waitFor();
      await waitUntil(async () => !((await demo.locator('main').textContent()) || '').includes('e2e-team-run'), {
        timeout: 10_000,
        message: "the team's allocation to leave demo's personal list",
      });
    } finally {
      await other.close();
    }
  });

  await step('release it', async () => {
    await page.getByRole('button', { name: /^Release/ }).first().click();
    const confirm = page.getByRole('dialog');
    await confirm.getByRole('button', { name: /^Release/ }).click();
    await waitUntil(async () => (await page.getByTestId('status-banner').getAttribute('data-status')) === 'released', {
      timeout: 60_000,
      message: 'the team allocation to be released',
    });
  });
}
