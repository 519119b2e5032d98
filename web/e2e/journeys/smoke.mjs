// The harness's own check: the login screen is accessible, demo can sign in
// and lands on the marketplace, and a reload keeps the session (the
// httpOnly refresh cookie, docs/web.md).
import { axeScan, expectText, login, shot } from '../lib.mjs';

export const name = 'smoke: sign in as demo, land on the marketplace, reload stays signed in';

export async function run({ page, accounts, step }) {
  await step('open /login', async () => {
    await page.goto('/login');
    await expectText(page, /sign in/i);
  });
  await step('axe scan and screenshot of /login', async () => {
    await axeScan(page, 'login');
    await shot(page, 'login');
  });
  await step('/login in dark mode (axe)', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await axeScan(page, 'login-dark');
    await shot(page, 'login-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
  await step('a wrong password is said in words, with the reference behind "Details"', async () => {
    await page.getByLabel(/user ?name/i).fill(accounts.demo.username);
    await page.getByLabel(/^password/i).fill('not-the-password');
    await page.getByRole('button', { name: /sign in/i }).click();
    const box = page.getByTestId('error-box');
    await box.waitFor();
    const text = await box.innerText();
    if (!text.includes('Wrong username or password.')) throw new Error(`the error says "${text}"`);
    if (/HTTP \d|Code /.test(text)) throw new Error(`the error shows raw codes: "${text}"`);
    await box.getByText('Details').click();
    await box.getByTestId('correlation-id').waitFor();
    await shot(page, 'login-error');
  });
  await step('a spent or unknown reset link is said in words (or that the server does not offer it)', async () => {
    await page.goto('/reset-password?token=e2e-not-a-token');
    await page.getByLabel('New password', { exact: true }).fill('a long enough password');
    await page.getByLabel('Repeat it', { exact: true }).fill('a long enough password');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await expectText(page, /has been used or has expired|does not offer password reset links/);
    await axeScan(page, 'reset-password');
    await shot(page, 'reset-password');
    await page.goto('/login');
  });
  await step('sign in as demo', () => login(page, accounts.demo.username, accounts.demo.password));
  await step('land on /marketplace', async () => {
    await page.waitForURL(/\/marketplace$/);
    await shot(page, 'marketplace-smoke');
  });
  await step('a reload keeps the session', async () => {
    await page.reload();
    await page.waitForLoadState('networkidle');
    if (new URL(page.url()).pathname !== '/marketplace') {
      throw new Error(`after a reload the app went to ${page.url()}, not /marketplace`);
    }
  });
  await step('a deep link keeps the session', async () => {
    await page.goto('/billing');
    await page.waitForLoadState('networkidle');
    if (new URL(page.url()).pathname !== '/billing') {
      throw new Error(`a deep link to /billing went to ${page.url()}`);
    }
  });
}
