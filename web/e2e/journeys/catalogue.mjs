// The catalogue journey (issue 14): an admin creates a region and a SKU in
// it through the console, changes the SKU's price, reads the price history
// (money with its currency), and is told in plain words why the region,
// now used by the SKU, cannot be deleted; at 1440 px, and the same screens
// at 360 px without sideways scrolling. The SKU is deactivated at the end,
// so later journeys see the marketplace as seeded. Then the fleet: the
// admin opens a node, sees its GPU charts drawn from the simulated GPUs'
// telemetry, drains it for maintenance (a reason, a quick-choice deadline),
// sees it draining with its deadline on its page and in the list, and
// undrains it, so later journeys find every node in service.
import { assert, assertNoOverflow, axeScan, expectText, login, shot, viewports, waitUntil } from '../lib.mjs';

export const name = 'catalogue journey';

export async function run({ page, accounts, step, newPage }) {
  // Unique per run, so the journey can run again against the same server.
  const tag = Math.random().toString(36).slice(2, 8);
  const region = `e2e-${tag}`;
  const skuId = `e2e-${tag}-h100-x1`;

  await step('sign in as admin at 1440 px', async () => {
    await page.setViewportSize(viewports.desktop);
    await login(page, accounts.admin.username, accounts.admin.password);
  });

  await step('catalogue: regions, SKUs and suggestions', async () => {
    await page.goto('/admin/catalogue');
    await page.getByRole('heading', { name: 'Regions' }).waitFor();
    await expectText(page, 'local-1');
    await axeScan(page, 'admin-catalogue');
    await shot(page, 'admin-catalogue');
  });

  await step(`create region ${region}`, async () => {
    await page.getByRole('button', { name: 'New region' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Slug').fill(region);
    await dialog.getByLabel('Name').fill(`E2E ${tag}`);
    await shot(page, 'admin-catalogue-new-region');
    await dialog.getByRole('button', { name: 'Create region' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: `Delete region ${region}` }).waitFor();
  });

  await step(`create SKU ${skuId} at USD 2.49 an hour`, async () => {
    await page.getByRole('button', { name: 'New SKU' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('ID').fill(skuId);
    await dialog.getByLabel('Name').fill(`E2E H100 ${tag}`);
    await dialog.getByLabel('Region').selectOption(region);
    await dialog.getByLabel('GPU model').fill('NVIDIA H100 80GB HBM3');
    await dialog.getByLabel('GPUs').fill('1');
    await dialog.getByLabel('Memory per GPU (MiB)').fill('81559');
    await dialog.getByLabel('vCPUs').fill('16');
    await dialog.getByLabel('Memory (GiB)').fill('192');
    await dialog.getByLabel('Disk (GiB)').fill('500');
    await dialog.getByLabel('Price per hour (USD)').fill('2.49');
    await shot(page, 'admin-catalogue-new-sku');
    await dialog.getByRole('button', { name: 'Create SKU' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: `Edit SKU ${skuId}` }).waitFor();
  });

  await step('change its price to USD 3.10', async () => {
    await page.getByRole('button', { name: `Edit SKU ${skuId}` }).click();
    const dialog = page.getByRole('dialog');
    const price = dialog.getByLabel('Price per hour (USD)');
    // The dialog fills its fields once it has the SKU: wait for it, do not race it.
    await waitUntil(async () => (await price.inputValue()) === '2.49', {
      timeout: 10_000,
      message: 'the edit dialog to show the price 2.49',
    });
    await price.fill('3.10');
    await expectText(dialog, 'USD 3.10');
    await shot(page, 'admin-catalogue-edit-sku');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expectText(page, 'USD 3.10');
  });

  await step('price history: newest first, with the previous price and the admin', async () => {
    await page.getByRole('button', { name: `Price history of ${skuId}` }).click();
    const list = page.getByRole('list', { name: 'Prices, newest first' });
    await list.waitFor();
    const items = list.getByRole('listitem');
    await expectText(items.nth(0), 'USD 3.10');
    await expectText(items.nth(0), 'was USD 2.49');
    await expectText(items.nth(0), accounts.admin.username);
    await expectText(items.nth(1), 'when created');
    assert((await items.count()) === 2, `history has ${await items.count()} entries, want 2`);
    await axeScan(page, 'admin-catalogue-history');
    await shot(page, 'admin-catalogue-history');
    await page.keyboard.press('Escape');
    await list.waitFor({ state: 'detached' });
  });

  await step('deleting the region in use says what uses it', async () => {
    await page.getByRole('button', { name: `Delete region ${region}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Delete region' }).click();
    await expectText(dialog, `Region ${region} is still used by 1 SKU (${skuId})`);
    await shot(page, 'admin-catalogue-region-in-use');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  await step('the same screens at 360 px', async () => {
    const narrow = await newPage(viewports.phone);
    await narrow.goto('/admin/catalogue');
    await narrow.getByRole('button', { name: `Edit SKU ${skuId}` }).waitFor();
    await shot(narrow, 'admin-catalogue-phone');
    await narrow.getByRole('button', { name: `Price history of ${skuId}` }).click();
    await narrow.getByRole('list', { name: 'Prices, newest first' }).waitFor();
    await shot(narrow, 'admin-catalogue-history-phone');
    await narrow.keyboard.press('Escape');
    await narrow.close();
  });

  await step('deactivate the SKU again', async () => {
    await page.getByRole('button', { name: `Edit SKU ${skuId}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Offered in the marketplace').uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expectText(page, 'inactive');
  });

  let nodeHref = '';
  let host = '';
  await step('open a node: its GPU charts are drawn', async () => {
    // An active node (the admin journey, before this one, leaves a node disabled).
    await page.goto('/admin/nodes?state=active&status=online');
    const link = page.locator('table a[href^="/admin/nodes/"]').first();
    await link.waitFor();
    nodeHref = (await link.getAttribute('href')) ?? '';
    host = (await link.textContent())?.trim() ?? '';
    assert(nodeHref && host, 'no node in the list');
    await link.click();
    await page.getByRole('heading', { name: host, level: 1 }).waitFor();
    // The simulated GPUs report with every heartbeat: wait for a line with a point.
    await waitUntil(
      () =>
        page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="gpu-charts"] svg path')].some((p) => /^M-?[\d.]+ -?[\d.]+/.test(p.getAttribute('d') || '')),
        ),
      { timeout: 60_000, interval: 1000, message: 'a GPU chart with data' },
    );
    const charts = page.getByTestId('gpu-charts').getByRole('img');
    assert((await charts.count()) >= 4, `${await charts.count()} charts, want 4`);
    await expectText(page.getByTestId('admin-state'), 'Active');
    await axeScan(page, 'admin-node');
    await shot(page, 'admin-node');
  });

  let sentDeadline = '';
  await step('drain it with a reason and a deadline', async () => {
    await page.getByRole('button', { name: `Drain ${host}` }).click();
    const dialog = page.getByRole('dialog', { name: `Drain ${host}` });
    await dialog.getByLabel('Reason', { exact: true }).fill(`e2e ${tag}: firmware update`);
    await dialog.getByRole('button', { name: 'In 24 hours' }).click();
    const value = await dialog.getByLabel('Deadline', { exact: true }).inputValue();
    assert(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value), `the deadline input holds ${value}`);
    sentDeadline = (await dialog.getByTestId('drain-utc').textContent())?.trim() ?? '';
    // The browser runs in UTC here: the local time and the UTC one agree.
    assert(sentDeadline === `${value}:00Z`, `sent ${sentDeadline} for ${value}`);
    await axeScan(page, 'admin-node-drain-dialog');
    await shot(page, 'admin-node-drain-dialog');
    await dialog.getByRole('button', { name: 'Drain node' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  await step('the node shows draining with its deadline and reason', async () => {
    const state = page.getByTestId('admin-state');
    await waitUntil(async () => (await state.getAttribute('data-state')) === 'draining', { message: 'admin state draining' });
    await expectText(state, 'draining');
    await expectText(state, `Reason: e2e ${tag}: firmware update`);
    await expectText(state, /\((tomorrow|in 1 day|in 2[34] hr\.?)\)/);
    const when = await state.locator('time').getAttribute('datetime');
    assert(when && new Date(when).getTime() === new Date(sentDeadline).getTime(), `the page shows the deadline ${when}, sent ${sentDeadline}`);
    await axeScan(page, 'admin-node-draining');
    await shot(page, 'admin-node-draining');
    await page.goto('/admin/nodes?state=draining');
    await page.getByRole('button', { name: `Undrain ${host}` }).waitFor();
    await expectText(page.getByTestId('drain-state').first(), 'Deadline');
    await axeScan(page, 'admin-nodes-draining');
    await shot(page, 'admin-nodes-draining');
  });

  await step('the draining node at 360 px', async () => {
    const narrow = await newPage(viewports.phone);
    await narrow.goto(nodeHref);
    await narrow.getByTestId('admin-state').getByText('draining').waitFor();
    await assertNoOverflow(narrow, 'admin-node-draining-phone');
    await narrow.getByRole('button', { name: `Change drain of ${host}` }).click();
    await narrow.getByRole('dialog', { name: `Change drain of ${host}` }).waitFor();
    await assertNoOverflow(narrow, 'admin-node-drain-dialog-phone');
    await axeScan(narrow, 'admin-node-drain-dialog-phone');
    await shot(narrow, 'admin-node-drain-dialog-phone');
    await narrow.keyboard.press('Escape');
    await narrow.close();
  });

  await step('undrain it: back in service', async () => {
    await page.goto(nodeHref);
    await page.getByRole('button', { name: `Undrain ${host}` }).click();
    const state = page.getByTestId('admin-state');
    await waitUntil(async () => (await state.getAttribute('data-state')) === 'active', { message: 'admin state active' });
    await expectText(state, 'Active');
    assert((await page.getByRole('button', { name: `Drain ${host}` }).count()) === 1, 'no Drain button after undrain');
  });
}
