// The payments journey (issue 16): demo adds credit on Billing (a preset
// amount), pays on the Stripe stand-in's hosted page (it delivers the signed
// webhook to the server and returns the browser), sees the outcome page and
// the balance rise exactly once, also after the webhook is delivered again;
// then an admin finds the payment, refunds part of it with a reason, and the
// balance drops by that part. Billing and the admin pages at 360 px too.
import { assert, assertNoOverflow, axeScan, expectText, login, shot, viewports, waitUntil } from '../lib.mjs';

export const name = 'payments journey';

async function apiToken(baseURL, { username, password }) {
  const res = await fetch(new URL('/api/v1/auth/personal/login', baseURL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert(res.ok, `API login as ${username}: HTTP ${res.status}`);
  return (await res.json()).access_token;
}

async function get(baseURL, token, path) {
  const res = await fetch(new URL(path, baseURL), { headers: { Authorization: `Bearer ${token}` } });
  assert(res.ok, `GET ${path}: HTTP ${res.status}`);
  return res.json();
}

export async function run({ page, context, accounts, baseURL, step, newPage }) {
  const demoToken = await apiToken(baseURL, accounts.demo);
  const balance = async () => (await get(baseURL, demoToken, '/api/v1/billing/balance')).balance_minor;
  const cfg = await get(baseURL, demoToken, '/api/v1/payments/config');
  assert(cfg.enabled, 'payments are not enabled on the server under test (scripts/web-e2e.sh starts the stand-in)');
  const before = await balance();
  let paymentURL;

  await step('sign in as demo', () => login(page, accounts.demo.username, accounts.demo.password));

  await step('billing: Add credit with a preset amount opens the hosted checkout', async () => {
    await page.goto('/billing');
    const form = page.getByTestId('add-credit');
    await form.waitFor();
    await form.getByRole('radio', { name: 'USD 25.00' }).check();
    await axeScan(page, 'billing-add-credit');
    await shot(page, 'billing-add-credit');
    await form.getByRole('button', { name: 'Pay USD 25.00' }).click();
    await page.waitForURL(/\/pay\/cs_test_/);
    await expectText(page, 'Pay 2500 USD');
  });

  await step('pay on the stand-in: the signed webhook credits once, the return page shows it', async () => {
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL(/\/billing\/payments\/[0-9a-f-]{36}\?session_id=cs_test_/);
    paymentURL = new URL(page.url()).pathname;
    const outcome = page.getByTestId('payment-outcome');
    await waitUntil(async () => (await outcome.getAttribute('data-status')) === 'succeeded', { message: 'payment succeeded' });
    await expectText(outcome, 'the credit is on your balance');
    await shot(page, 'payment-return');
    assert((await balance()) === before + 2500, `balance ${await balance()}, want ${before + 2500}`);
  });

  await step('the payment is in the history; the balance rose once', async () => {
    await page.goto('/billing');
    const table = page.getByRole('table', { name: 'Payments' });
    await expectText(table, 'USD 25.00');
    await expectText(table, 'succeeded');
    assert((await balance()) === before + 2500, 'the balance changed again');
  });

  await step('billing and the return page at 360 px', async () => {
    const narrow = await newPage(viewports.phone);
    await narrow.goto('/billing');
    await narrow.getByTestId('add-credit').waitFor();
    await assertNoOverflow(narrow, 'billing-360');
    await narrow.goto(paymentURL);
    await narrow.getByTestId('payment-outcome').waitFor();
    await assertNoOverflow(narrow, 'payment-return-360');
    await narrow.close();
  });

  await step('admin: find the payment and refund USD 10.00 of it', async () => {
    await context.clearCookies();
    await login(page, accounts.admin.username, accounts.admin.password);
    await page.goto('/admin/payments?status=succeeded');
    const table = page.getByRole('table', { name: 'Payments' });
    await expectText(table, 'USD 25.00');
    await axeScan(page, 'admin-payments');
    await shot(page, 'admin-payments');
    await page.goto(`/admin${paymentURL.replace('/billing', '')}`);
    await expectText(page.getByTestId('payment-summary'), 'cs_test_');
    const form = page.getByTestId('refund-form');
    await form.getByLabel('Amount (USD)').fill('10.00');
    await form.getByLabel('Reason').fill('e2e: partial refund');
    await form.getByRole('button', { name: 'Refund USD 10.00' }).click();
    await expectText(page.getByTestId('payment-summary'), 'partially refunded');
    await expectText(page, 'e2e: partial refund');
    await axeScan(page, 'admin-payment');
    await shot(page, 'admin-payment');
    assert((await balance()) === before + 1500, `after the refund: balance ${await balance()}, want ${before + 1500}`);
  });

  await step('admin: Reconcile now finds nothing to repair', async () => {
    await page.goto('/admin/payments');
    await page.getByTestId('reconcile').click();
    await expectText(page.getByTestId('reconcile-report'), '0 credited');
    const narrow = await newPage(viewports.phone);
    await narrow.goto('/admin/payments');
    await narrow.getByTestId('reconcile').waitFor();
    await assertNoOverflow(narrow, 'admin-payments-360');
    await narrow.close();
    assert((await balance()) === before + 1500, 'reconciliation changed the balance');
  });
}
