// The admin journey (issue 6): an admin signs in, reads the overview, finds
// demo with the server-side user search and role filter, reads and credits
// demo's balance, finds an idle node by hostname and disables it,
// force-releases demo's allocation (found with the node filter) with a
// reason, and finds all three in the audit log (action and target type
// filters); the overview also at 390 px.
// Every admin screen gets an axe scan and a screenshot. The node is enabled
// again at the end so later journeys keep the whole fleet.
import { assert, axeScan, expectText, login, shot, viewports, waitUntil } from '../lib.mjs';

export const name = 'admin journey';

const CREDIT_REASON = 'e2e: goodwill credit for the admin journey';
const RELEASE_REASON = 'e2e: force-released by the admin journey';

async function apiLogin(baseURL, { username, password }) {
  const res = await fetch(new URL('/api/v1/auth/personal/login', baseURL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert(res.ok, `API login as ${username}: HTTP ${res.status} ${await res.clone().text()}`);
  const body = await res.json();
  return body.access_token;
}

function apiClient(baseURL, token) {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(new URL(path, baseURL), {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert(res.ok, `${method} ${path}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

export async function run({ page, accounts, baseURL, step, newPage }) {
  const admin = apiClient(baseURL, await apiLogin(baseURL, accounts.admin));
  const demo = apiClient(baseURL, await apiLogin(baseURL, accounts.demo));
  let node;
  let allocation;

  await step('sign in as admin', () => login(page, accounts.admin.username, accounts.admin.password));

  await step('overview: cards, last-updated stamp, pause', async () => {
    await page.goto('/admin/overview');
    await expectText(page, 'GPUs allocated');
    await expectText(page, /Updated \d/);
    await page.getByRole('button', { name: 'Pause' }).click();
    await expectText(page, 'paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await axeScan(page, 'admin-overview');
    await shot(page, 'admin-overview');
  });

  await step('users: list, role filter and search on the server, open demo', async () => {
    await page.goto('/admin/users');
    await page.getByRole('row', { name: 'Open user demo' }).waitFor();
    await axeScan(page, 'admin-users');
    await shot(page, 'admin-users');
    await page.getByLabel('Role').selectOption('admin');
    await page.waitForURL(/role=admin/);
    await page.getByRole('row', { name: 'Open user admin' }).waitFor();
    await page.getByRole('row', { name: 'Open user demo' }).waitFor({ state: 'detached' });
    await page.getByLabel('Role').selectOption('');
    await page.getByLabel('Search').fill('DEMO');
    await page.waitForURL(/q=DEMO/);
    await expectText(page, 'Showing 1 matching user');
    await page.getByRole('row', { name: 'Open user admin' }).waitFor({ state: 'detached' });
    await page.getByRole('row', { name: 'Open user demo' }).click();
    await page.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/);
    await expectText(page, 'demo@');
  });

  await step("user detail: demo's balance as demo sees it, then credit it by 12.34", async () => {
    const panel = page.getByTestId('user-balance');
    const money = (b) =>
      `${b.currency} ${new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(b.balance_minor / 100)}`;
    const shows = async (b) => {
      const expected = money(b);
      await waitUntil(async () => (await panel.locator('.money').first().innerText()) === expected, {
        message: `the balance panel to show demo's balance ${expected}`,
      });
    };
    const before = await demo('GET', '/api/v1/billing/balance');
    await shows(before);
    await page.getByLabel(/^Amount/).fill('12.34');
    await page.getByLabel(/^Reason/).fill(CREDIT_REASON);
    await page.getByRole('button', { name: 'Credit USD 12.34' }).click();
    await expectText(page, /Credited USD 12\.34/);
    const after = await demo('GET', '/api/v1/billing/balance');
    assert(
      after.balance_minor >= before.balance_minor + 1234 - 100,
      `demo's balance went from ${before.balance_minor} to ${after.balance_minor} after a credit of 1234`,
    );
    await shows(after);
    await expectText(page, `Credit USD +12.34 — ${CREDIT_REASON}`);
    await axeScan(page, 'admin-user-detail');
    await shot(page, 'admin-user-detail');
  });

  await step('user detail: a password reset link for demo (or the plain "not offered" on a server without the route)', async () => {
    await page.getByTestId('user-actions').getByRole('button', { name: 'Password reset link…' }).click();
    const dialog = page.getByRole('dialog', { name: /Password reset link for demo/ });
    await dialog.getByRole('button', { name: 'Issue link' }).click();
    await waitUntil(
      async () =>
        (await dialog.getByTestId('reset-link').count()) > 0 ||
        (await dialog.getByText('This server does not offer this action yet').count()) > 0,
      { message: 'the reset link, or the note that the server does not offer it', timeout: 10_000 },
    );
    await axeScan(page, 'admin-user-reset-link');
    await shot(page, 'admin-user-reset-link');
    await dialog.getByRole('button', { name: /^(Done|Cancel)$/ }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  await step('nodes: disable an idle node', async () => {
    const nodes = await admin('GET', '/api/v1/admin/nodes?page_size=200');
    node = nodes.items.find(
      (n) => n.admin_state === 'active' && n.status === 'online' && n.gpus.length > 0 && !n.gpus.some((g) => g.allocated),
    );
    assert(node, 'no idle, active, online node to disable');
    await page.goto('/admin/nodes');
    await page.getByRole('button', { name: `Disable ${node.hostname}` }).waitFor();
    await page.getByLabel('Search').fill(node.hostname.toUpperCase());
    await page.waitForURL(/[?&]q=/);
    await expectText(page, 'Showing 1 matching node');
    await axeScan(page, 'admin-nodes');
    await shot(page, 'admin-nodes');
    await page.getByRole('button', { name: `Disable ${node.hostname}` }).click();
    const dialog = page.getByRole('dialog');
    await expectText(dialog, `Disable ${node.hostname}?`);
    await dialog.getByRole('button', { name: 'Disable node' }).click();
    await page.getByRole('button', { name: `Enable ${node.hostname}` }).waitFor();
    const row = page.locator('tr', { has: page.getByRole('button', { name: `Enable ${node.hostname}` }) });
    await expectText(row, 'disabled');
    const fresh = await admin('GET', `/api/v1/admin/nodes/${node.id}`);
    assert(fresh.admin_state === 'disabled', `node ${node.hostname} is ${fresh.admin_state}, not disabled`);
  });

  await step('demo creates an allocation through the API and it goes active', async () => {
    const skus = await demo('GET', '/api/v1/skus');
    const sku = skus.items.filter((s) => s.available > 0).sort((a, b) => a.price_per_hour_minor - b.price_per_hour_minor)[0];
    assert(sku, 'no SKU has free capacity');
    const name = `e2e-forced-${Date.now().toString(36)}`;
    allocation = await demo('POST', '/api/v1/allocations', { sku_id: sku.id, name }, { 'Idempotency-Key': `e2e-${name}` });
    allocation = await waitUntil(
      async () => {
        const a = await demo('GET', `/api/v1/allocations/${allocation.id}`);
        assert(a.status !== 'failed', `allocation failed: ${a.failure_reason}`);
        return a.status === 'active' && a;
      },
      { timeout: 60_000, interval: 500, message: `allocation ${name} to go active` },
    );
  });

  await step('allocations: find it by its node, force-release it with a reason', async () => {
    await page.goto('/admin/allocations');
    await page.getByLabel('Node').locator(`option[value="${allocation.node_id}"]`).waitFor({ state: 'attached' });
    await page.getByLabel('Node').selectOption(allocation.node_id);
    await page.waitForURL(new RegExp(`node_id=${allocation.node_id}`));
    await page.getByLabel('Search').fill(allocation.name);
    const button = page.getByRole('button', { name: `Force-release ${allocation.name}` });
    await button.waitFor();
    await axeScan(page, 'admin-allocations');
    await shot(page, 'admin-allocations');
    await button.click();
    const dialog = page.getByRole('dialog');
    const confirm = dialog.getByRole('button', { name: 'Force release' });
    assert(await confirm.isDisabled(), 'force release is possible without a reason');
    await dialog.getByLabel(/^Reason/).fill(RELEASE_REASON);
    await axeScan(page, 'admin-allocations-force-release-dialog');
    await shot(page, 'admin-allocations-force-release');
    await confirm.click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.locator('tr', { hasText: allocation.name });
    await waitUntil(async () => /releas/.test(await row.innerText()), { message: 'the row to show releasing/released' });
    await waitUntil(
      async () => (await demo('GET', `/api/v1/allocations/${allocation.id}`)).status === 'released',
      { timeout: 60_000, interval: 500, message: 'the allocation to be released' },
    );
  });

  await step("the allocation's admin page: its owner, or the plain note on a server without the route", async () => {
    await page.locator('tr', { hasText: allocation.name }).getByRole('link', { name: allocation.name }).click();
    await page.waitForURL(new RegExp(`/admin/allocations/${allocation.id}$`));
    await waitUntil(
      async () =>
        (await page.getByRole('link', { name: 'demo', exact: true }).count()) > 0 ||
        (await page.getByText('does not offer an allocation’s admin page').count()) > 0,
      { message: "the allocation's owner, or the not-available note", timeout: 15_000 },
    );
    await axeScan(page, 'admin-allocation');
    await shot(page, 'admin-allocation');
  });

  await step('audit logs: the credit, the force-release and the node disable are there', async () => {
    await page.goto('/admin/audit-logs');
    await page.getByRole('table').waitFor();
    await axeScan(page, 'admin-audit-logs');
    await shot(page, 'admin-audit-logs');

    await page.getByLabel('Action').fill('billing.adjustment');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/action=billing.adjustment/);
    await expectText(page, `Credit USD +12.34 — ${CREDIT_REASON}`);

    await page.getByLabel('Action').fill('allocation.transition');
    await page.getByLabel('Target id').fill(allocation.id);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expectText(page, RELEASE_REASON);
    await shot(page, 'admin-audit-logs-filtered');

    // A force release is found by its name, within its category; the filters stay in the URL.
    // Clear must have landed (the URL loses the action) before the next filters are typed,
    // or they are applied on top of the old ones.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForURL((u) => !u.search.includes('action='));
    await page.getByLabel('Category').selectOption('allocation');
    await page.getByLabel('Find').fill('force release');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/category=allocation/);
    await expectText(page.getByRole('table'), 'Force release');
    await expectText(page, RELEASE_REASON);
    await page.reload();
    await expectText(page.getByRole('table'), 'Force release');
    await shot(page, 'admin-audit-logs-force-release');

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForURL((u) => !u.search.includes('category='));
    await page.getByLabel('Action').fill('node.disable');
    await page.getByLabel('Target type').selectOption('node');
    await page.getByLabel('Target id').fill(node.id);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/target_type=node/);
    await expectText(page, 'Admin state active → disabled');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    assert(download.suggestedFilename() === 'audit-logs.csv', `export saved as ${download.suggestedFilename()}`);
    const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
    assert(csv.includes(node.id), 'the filtered CSV export does not name the disabled node');
  });

  await step('dialogs at 360 px: new user, add node, and a join token with its agent command', async () => {
    await page.goto('/admin/users');
    await page.getByRole('button', { name: 'New user' }).first().click();
    let dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.waitFor();
    await shot(page, 'admin-new-user-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });

    await page.goto('/admin/nodes');
    await page.getByRole('button', { name: 'Add node' }).first().click();
    dialog = page.getByRole('dialog', { name: 'Add a node' });
    await dialog.waitFor();
    await shot(page, 'admin-add-node-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: `Issue a join token for ${node.hostname}` }).click();
    dialog = page.getByRole('dialog', { name: `Join token for ${node.hostname}` });
    await dialog.getByRole('button', { name: 'Issue token' }).click();
    await page.getByTestId('join-command').waitFor();
    await axeScan(page, 'admin-join-token');
    await shot(page, 'admin-join-token');
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
  });

  await step('the admin screens in dark mode (axe)', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const [path, name] of [
      ['/admin/overview', 'admin-overview-dark'],
      ['/admin/users', 'admin-users-dark'],
      ['/admin/nodes', 'admin-nodes-dark'],
      ['/admin/allocations', 'admin-allocations-dark'],
      ['/admin/audit-logs', 'admin-audit-logs-dark'],
    ]) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      await axeScan(page, name);
    }
    await shot(page, 'admin-audit-logs-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('dead letters, and the revoke-credentials dialog of a node (cancelled)', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await page.waitForURL(/\/admin\/dead-letters$/);
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    await page.locator('table, .state-empty').first().waitFor();
    await axeScan(page, 'admin-dead-letters');
    await shot(page, 'admin-dead-letters');
    await page.goto('/admin/nodes');
    await page.getByRole('button', { name: `Revoke the credentials of ${node.hostname}` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke the credentials of ${node.hostname}?` });
    await dialog.waitFor();
    await axeScan(page, 'admin-nodes-revoke-dialog');
    await shot(page, 'admin-nodes-revoke-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  await step('overview and nodes on a phone (360 px)', async () => {
    const narrow = await newPage(viewports.phone);
    await narrow.goto('/admin/overview');
    await expectText(narrow, /Updated \d/);
    await axeScan(narrow, 'admin-overview-narrow');
    await shot(narrow, 'admin-overview-narrow');
    await narrow.goto('/admin/nodes');
    await narrow.getByRole('button', { name: `Enable ${node.hostname}` }).waitFor();
    await shot(narrow, 'admin-nodes-narrow');
    await narrow.close();
  });

  await step('enable the node again', async () => {
    await page.goto('/admin/nodes');
    await page.getByRole('button', { name: `Enable ${node.hostname}` }).click();
    await page.getByRole('button', { name: `Disable ${node.hostname}` }).waitFor();
    const fresh = await admin('GET', `/api/v1/admin/nodes/${node.id}`);
    assert(fresh.admin_state === 'active', `node ${node.hostname} is ${fresh.admin_state} after enable`);
  });
}
