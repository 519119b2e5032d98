// The catalogue journey (issue 14): an admin creates a region and a SKU in
// it through the console, changes the SKU's price, reads the price history
// (money with its currency), and is told in plain words why the region,
// now used by the SKU, cannot be deleted; at 1440 px, and the same screens
// at 360 px without sideways scrolling. The SKU is deactivated at the end,
// so later journeys see the marketplace as seeded.
import { assert, axeScan, expectText, login, shot, viewports } from '../lib.mjs';

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
    assert((await price.inputValue()) === '2.49', `the edit dialog shows ${await price.inputValue()}, not 2.49`);
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
}
