// API tokens (issue 15): demo opens Settings → API tokens from the user
// menu, creates a token with a name, an expiry and two scopes, sees the
// secret once with a copy button, uses it from a script (its scopes hold:
// /users/me answers, the admin routes do not), finds its last use and
// address in the list, and revokes it after confirming; the token is
// refused at once. Every screen and dialog gets an axe scan and is
// photographed at 1440 and 360 px.
import { assert, axeScan, expectText, login, shot } from '../lib.mjs';

export const name = 'api tokens: create, use from a script, last use, revoke';

async function call(baseURL, token, path) {
  const res = await fetch(new URL(path, baseURL), { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

export async function run({ page, accounts, baseURL, step }) {
  const tokenName = `e2e-${Date.now()}`;
  let secret = '';

  await step('sign in as demo', () => login(page, accounts.demo.username, accounts.demo.password));

  await step('open API tokens from the user menu (axe, screenshot)', async () => {
    await page.getByTestId('user-menu').click();
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.waitForURL(/\/settings\/tokens$/);
    await page.getByRole('heading', { level: 1, name: 'API tokens' }).waitFor();
    await axeScan(page, 'tokens');
    await shot(page, 'tokens');
  });

  await step('create a token: name, 30 days, read and billing (axe, screenshot)', async () => {
    await page.getByRole('button', { name: /^Create (your first )?token$/ }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create an API token' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill(tokenName);
    await dialog.getByLabel('Expires after').selectOption('30');
    await dialog.getByRole('checkbox', { name: /Billing/ }).check();
    assert((await dialog.getByRole('checkbox', { name: /Admin/ }).count()) === 0, 'demo is offered the admin scope');
    await axeScan(page, 'tokens-create-dialog');
    await shot(page, 'tokens-create-dialog');
    await dialog.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByRole('dialog', { name: 'Copy your new token' });
    await shown.waitFor();
    secret = (await shown.getByTestId('token-secret').innerText()).trim();
    assert(/^gpat_[A-Za-z0-9_-]{43}$/.test(secret), `the secret shown is "${secret}"`);
    await shown.getByRole('button', { name: 'Copy the token' }).waitFor();
    await axeScan(page, 'tokens-secret-dialog');
    await shot(page, 'tokens-secret-dialog');
  });

  await step('the token works from a script, within its scopes', async () => {
    const me = await call(baseURL, secret, '/api/v1/users/me');
    assert(me.status === 200 && me.body.username === accounts.demo.username, `GET /users/me: ${me.status}`);
    const balance = await call(baseURL, secret, '/api/v1/billing/balance');
    assert(balance.status === 200, `GET /billing/balance with billing: ${balance.status}`);
    const admin = await call(baseURL, secret, '/api/v1/admin/users');
    assert(admin.status === 403, `GET /admin/users: ${admin.status}, want 403`);
  });

  await step('the secret is gone once the dialog closes; the list shows the last use and address', async () => {
    await page.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    const table = page.getByRole('table', { name: 'Your API tokens' });
    await table.waitFor();
    await expectText(table, tokenName);
    await expectText(table, /from \d/);
    assert((await page.getByText(secret).count()) === 0, 'the secret is still on the page');
    await axeScan(page, 'tokens-list');
    await shot(page, 'tokens-list');
  });

  await step('revoke after confirming; the token is refused at once', async () => {
    await page.getByRole('button', { name: `Revoke ${tokenName}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this API token?' });
    await dialog.waitFor();
    await axeScan(page, 'tokens-revoke-dialog');
    await shot(page, 'tokens-revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: `Revoke ${tokenName}` }).waitFor({ state: 'detached' });
    const me = await call(baseURL, secret, '/api/v1/users/me');
    assert(me.status === 401 && me.body.code === 'token_revoked', `revoked token: ${me.status} ${me.body.code}`);
  });
}
