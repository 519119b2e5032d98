// Spend limits and notification email (issue 16): an admin opens demo's
// user page and sets demo's limits (at most 64 GPUs at once, USD 5,000.00 a
// month, burn left to the default); demo's Billing page shows each limit with
// its use, money with its currency, and the daily spend chart (or that there
// is none yet); demo turns one kind of notification email off under
// Settings → Notification email and finds it off after a reload, then turns
// it back on; the admin resets the limits. Every screen is scanned (axe)
// and photographed at 1440 and 360 px (shot checks for sideways overflow at
// both).
import { assert, axeScan, expectText, login, shot, viewports } from '../lib.mjs';

export const name = 'limits: admin sets spend limits, billing shows them, email preferences';

export async function run({ page, context, baseURL, accounts, step }) {
  // A context of its own: the admin's sign-in must not replace demo's session cookie.
  const adminContext = await context.browser().newContext({ baseURL, viewport: viewports.desktop, locale: 'en-US', timezoneId: 'UTC' });
  const admin = await adminContext.newPage();
  const form = () => admin.getByTestId('limits-form');
  try {
    await step('admin sets demo’s spend limits on the user page (axe, screenshot)', async () => {
      await login(admin, accounts.admin.username, accounts.admin.password);
      await admin.goto('/admin/users');
      await admin.getByRole('row', { name: `Open user ${accounts.demo.username}` }).click();
      await admin.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/);
      await admin.getByTestId('admin-user-limits').getByTestId('spend-limits').waitFor();
      await form().getByLabel('Most GPUs at once').fill('64');
      await form().getByLabel(/Most spend per month/).fill('5000');
      await form().getByLabel(/Most burn per hour/).fill('');
      await form().getByRole('button', { name: 'Save limits' }).click();
      await expectText(admin, 'Spend limits saved');
      await expectText(admin.getByTestId('admin-user-limits'), /of\s+64/);
      await axeScan(admin, 'admin-user-limits');
      await admin.evaluate(() => window.scrollTo(0, 0));
      await shot(admin, 'admin-user-limits');
    });

    await step('demo’s Billing shows the limits with their use and the daily spend chart (axe, screenshot)', async () => {
      await login(page, accounts.demo.username, accounts.demo.password);
      await page.goto('/billing');
      const limits = page.getByTestId('spend-limits');
      await limits.waitFor();
      await expectText(limits, /GPUs at once/);
      await expectText(limits, /of\s+64/);
      await expectText(limits, /USD\s*5,000\.00/);
      await expectText(limits, /Burn rate per hour/);
      await expectText(limits, /no limit/);
      await page.getByTestId('spend-chart').or(page.getByTestId('spend-chart-empty')).first().waitFor();
      await axeScan(page, 'billing-limits');
      await shot(page, 'billing-limits');
    });

    await step('demo turns low-balance email off under Settings → Notification email; it stays off (axe, screenshot)', async () => {
      await page.getByTestId('user-menu').click();
      await page.getByRole('link', { name: 'Notification email' }).click();
      await page.waitForURL(/\/settings\/notifications$/);
      const box = page.getByRole('checkbox', { name: 'Low balance', exact: true });
      await box.waitFor();
      assert(await box.isChecked(), 'low-balance email starts off');
      await box.uncheck();
      await expectText(page, 'Preferences saved');
      await page.reload();
      await page.getByRole('checkbox', { name: 'Low balance', exact: true }).waitFor();
      assert(!(await page.getByRole('checkbox', { name: 'Low balance', exact: true }).isChecked()), 'the opt-out did not stick');
      await axeScan(page, 'notification-preferences');
      await shot(page, 'notification-preferences');
      await page.getByRole('checkbox', { name: 'Low balance', exact: true }).check();
      await expectText(page, 'Preferences saved');
    });
  } finally {
    // Leave demo as the other journeys expect it: no limits of its own.
    if (/\/admin\/users\/[0-9a-f-]{36}$/.test(admin.url())) {
      await form().getByLabel('Most GPUs at once').fill('');
      await form().getByLabel(/Most spend per month/).fill('');
      await form().getByRole('button', { name: 'Save limits' }).click();
      await expectText(admin, 'Spend limits saved').catch(() => {});
    }
    await adminContext.close();
  }
}
