// Storage (issue 13): demo opens Storage from the navigation, makes a
// folder, uploads a small file into it (and a second one with a long name,
// by drag and drop), sees them listed, downloads the first back and compares
// the bytes, sees it from a running allocation (creates one, opens its
// browser terminal, `ls`es the folder and `cat`s the file, then releases
// it), renames it, deletes it and the folder with the confirmations naming
// them; an admin sets demo's quota so low that an upload is refused and the
// refusal says the figures, then resets it. Every screen is scanned (axe)
// and photographed at 1440 and 360 px (shot checks for sideways overflow at
// both).
//
// `gpuaas dev`'s nodes are simulated: an allocation's terminal is a shell on
// the host that starts in the owner's namespace under dev's storage root
// ($WORKSPACE) and says so on its first line (docs/storage.md, Simulated
// nodes).
import { readFile } from 'node:fs/promises';
import { assert, axeScan, expectText, login, shot, viewports, waitUntil } from '../lib.mjs';

export const name = 'storage: upload, list, download, see in a terminal, rename, delete, quota';

const FOLDER = 'e2e-files';
const FILE = 'hello-e2e.txt';
const CONTENT = `hello from the storage journey ${Date.now()}\nsecond line: ünïcødé ✓\n`;
const LONG = 'a-very-long-file-name-without-any-spaces-to-check-that-it-wraps-inside-its-box-on-a-phone.csv';

async function uploadRow(page, fileName) {
  return page.getByTestId('upload-row').filter({ hasText: fileName }).last();
}

async function waitUploaded(page, fileName) {
  const row = await uploadRow(page, fileName);
  await waitUntil(async () => ['done', 'failed'].includes(await row.getAttribute('data-status')), {
    timeout: 20_000,
    message: `the upload of ${fileName} to finish`,
  });
  const status = await row.getAttribute('data-status');
  assert(status === 'done', `the upload of ${fileName} ended ${status}: ${await row.innerText()}`);
}

export async function run({ page, context, baseURL, accounts, step }) {
  await step('sign in as demo and open Storage from the navigation (axe, screenshot)', async () => {
    await login(page, accounts.demo.username, accounts.demo.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage', exact: true }).click();
    await page.waitForURL(/\/storage/);
    const meter = page.getByRole('meter', { name: 'Storage used' });
    await meter.waitFor({ timeout: 15_000 });
    assert(/ of .* used/.test((await meter.getAttribute('aria-valuetext')) || ''), 'the usage bar says no figures');
    await page.getByRole('table').or(page.getByText('No files yet')).first().waitFor();
    await axeScan(page, 'storage');
    await shot(page, 'storage');
  });

  await step('make a folder and open it', async () => {
    await page.getByRole('button', { name: 'New folder' }).click();
    const dialog = page.getByRole('dialog', { name: 'New folder' });
    await dialog.getByLabel('Folder name').fill(FOLDER);
    await axeScan(page, 'storage-new-folder');
    await shot(page, 'storage-new-folder');
    await dialog.getByRole('button', { name: 'Create folder' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('link', { name: `Open folder ${FOLDER}` }).click();
    await page.waitForURL((u) => u.searchParams.get('path') === FOLDER);
    await expectText(page, 'This folder is empty');
    const crumbs = page.getByRole('navigation', { name: 'Folder' });
    assert((await crumbs.locator('[aria-current="page"]').innerText()).trim() === FOLDER, 'the breadcrumb does not end at the folder');
  });

  await step('upload a file with the button and a long-named one by drag and drop; both listed (axe, 360 px)', async () => {
    await page.getByTestId('upload-input').setInputFiles({ name: FILE, mimeType: 'text/plain', buffer: Buffer.from(CONTENT) });
    await waitUploaded(page, FILE);
    // A drop as the browser makes it: a DataTransfer with a File.
    const dt = await page.evaluateHandle((n) => {
      const d = new DataTransfer();
      d.items.add(new File(['a,b\n1,2\n'], n, { type: 'text/csv' }));
      return d;
    }, LONG);
    await page.getByTestId('storage-drop').dispatchEvent('dragenter', { dataTransfer: dt });
    await page.getByTestId('storage-drop').dispatchEvent('drop', { dataTransfer: dt });
    await waitUploaded(page, LONG);
    const table = page.getByRole('table', { name: `Files in /${FOLDER}` });
    await table.getByText(FILE, { exact: true }).waitFor({ timeout: 10_000 });
    await table.getByText(LONG, { exact: true }).waitFor({ timeout: 10_000 });
    await expectText(page, '2 done');
    await axeScan(page, 'storage-uploaded');
    await shot(page, 'storage-uploaded');
  });

  await step('download the file back: the same bytes', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 15_000 }),
      page.getByRole('button', { name: `Download ${FILE}` }).click(),
    ]);
    assert(download.suggestedFilename() === FILE, `the download is named ${download.suggestedFilename()}`);
    const got = await readFile(await download.path());
    assert(got.equals(Buffer.from(CONTENT)), `the downloaded bytes differ: ${JSON.stringify(got.toString())}`);
  });

  await step('see it in a running allocation\'s terminal, then release it (axe, 360 px)', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Marketplace', exact: true }).click();
    const create = page.locator('.sku-card').getByRole('button', { name: /^Create / }).first();
    await create.waitFor({ timeout: 15_000 });
    await create.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name (optional)').fill('e2e-storage-journey');
    await dialog.getByRole('button', { name: /^Create for / }).click();
    await page.waitForURL(/\/allocations\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    const allocationId = new URL(page.url()).pathname.split('/').pop();
    await waitUntil(async () => (await page.getByTestId('status-banner').getAttribute('data-status')) === 'active', {
      timeout: 90_000,
      message: `allocation ${allocationId} to become active`,
    });
    await page.getByRole('button', { name: 'Open terminal' }).click();
    await waitUntil(async () => (await page.getByTestId('terminal-panel').getAttribute('data-phase')) === 'ready', {
      timeout: 20_000,
      message: 'the terminal to report session_ready',
    });
    // Rows joined without breaks, since xterm wraps long lines.
    const screenText = async () => (await page.locator('.xterm-rows > div').allInnerTexts()).join('');
    await waitUntil(async () => /simulated node.*storage workspace is \S*u-[0-9a-f-]{36}/.test(await screenText()), {
      timeout: 10_000,
      message: 'the first line to say the node is simulated and where the workspace is',
    });
    await page.locator('.xterm').click();
    await page.keyboard.type(`ls ${FOLDER}; cat "$WORKSPACE/${FOLDER}/${FILE}"`);
    await page.keyboard.press('Enter');
    const firstLine = CONTENT.split('\n')[0];
    await waitUntil(async () => (await screenText()).includes(firstLine), {
      timeout: 20_000,
      message: `the terminal to print "${firstLine}"`,
    });
    await axeScan(page, 'storage-terminal');
    await page.evaluate(() => window.scrollTo(0, 0)); // the sticky top bar, else drawn half way down
    await shot(page, 'storage-terminal');

    await page.getByRole('button', { name: 'Release', exact: true }).click();
    const release = page.getByRole('dialog', { name: 'Release this allocation?' });
    await release.getByRole('button', { name: 'Release', exact: true }).click();
    await release.waitFor({ state: 'detached' });
    await waitUntil(async () => (await page.getByTestId('status-banner').getAttribute('data-status')) === 'released', {
      timeout: 60_000,
      message: `allocation ${allocationId} to be released`,
    });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage', exact: true }).click();
    await page.getByRole('link', { name: `Open folder ${FOLDER}` }).click();
    await page.waitForURL((u) => u.searchParams.get('path') === FOLDER);
    await page.getByRole('table', { name: `Files in /${FOLDER}` }).getByText(FILE, { exact: true }).waitFor({ timeout: 10_000 });
  });

  await step('rename it (dialog at 360 px too)', async () => {
    await page.getByRole('button', { name: `Rename ${FILE}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Rename file' });
    await dialog.getByLabel('New name').fill(`renamed-${FILE}`);
    await axeScan(page, 'storage-rename');
    await shot(page, 'storage-rename');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('table').getByText(`renamed-${FILE}`, { exact: true }).waitFor();
  });

  await step('delete the file, then the folder with everything in it, each confirmed by name', async () => {
    await page.getByRole('button', { name: `Delete renamed-${FILE}` }).click();
    let dialog = page.getByRole('dialog', { name: 'Delete this file?' });
    await expectText(dialog, `renamed-${FILE}`);
    await axeScan(page, 'storage-delete-file');
    await shot(page, 'storage-delete-file');
    await dialog.getByRole('button', { name: 'Delete file' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('table').getByText(`renamed-${FILE}`, { exact: true }).waitFor({ state: 'detached' });

    await page.getByRole('navigation', { name: 'Folder' }).getByRole('link', { name: 'Storage' }).click();
    await page.getByRole('button', { name: `Delete ${FOLDER}` }).click();
    dialog = page.getByRole('dialog', { name: 'Delete this folder?' });
    await expectText(dialog, 'everything in it');
    await dialog.getByRole('button', { name: 'Delete folder and contents' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('link', { name: `Open folder ${FOLDER}` }).waitFor({ state: 'detached' });
  });

  await step('admin lowers demo’s quota: an upload is refused with the figures; reset to the default (axe)', async () => {
    // A context of its own: the admin's sign-in must not replace demo's session cookie.
    const adminContext = await context.browser().newContext({ baseURL, viewport: viewports.desktop, locale: 'en-US', timezoneId: 'UTC' });
    const admin = await adminContext.newPage();
    await login(admin, accounts.admin.username, accounts.admin.password);
    await admin.goto('/admin/users');
    await admin.getByRole('row', { name: `Open user ${accounts.demo.username}` }).click();
    await admin.waitForURL(/\/admin\/users\/[0-9a-f-]{36}$/);
    const card = admin.getByTestId('storage-quota');
    await card.getByRole('meter').waitFor({ timeout: 15_000 });
    await admin.getByLabel('New quota (GB)').fill('0.000001'); // 1073 bytes
    await admin.getByRole('button', { name: /^Set quota to / }).click();
    await expectText(admin, 'Storage quota set');
    await axeScan(admin, 'admin-user-storage');
    await admin.evaluate(() => window.scrollTo(0, 0)); // the sticky top bar, else drawn half way down
    await shot(admin, 'admin-user-storage');

    await page.getByTestId('upload-input').setInputFiles({ name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096, 7) });
    const row = await uploadRow(page, 'too-big.bin');
    await waitUntil(async () => (await row.getAttribute('data-status')) === 'failed', { timeout: 20_000, message: 'the upload over quota to fail' });
    const text = await row.innerText();
    assert(/Not enough storage space for this file \(4 KB\): .* of your 1\.05 KB quota is in use/.test(text), `the refusal does not say the figures: ${text}`);
    await shot(page, 'storage-over-quota');

    await admin.getByRole('button', { name: 'Reset to default' }).click();
    await expectText(admin, 'Storage quota back to the default');
    await adminContext.close();
    await row.getByRole('button', { name: 'Retry too-big.bin' }).click();
    await waitUploaded(page, 'too-big.bin');
    // Leave nothing behind for the other journeys.
    await page.getByRole('button', { name: 'Delete too-big.bin' }).click();
    await page.getByRole('dialog', { name: 'Delete this file?' }).getByRole('button', { name: 'Delete file' }).click();
    await page.getByRole('button', { name: 'Delete too-big.bin' }).waitFor({ state: 'detached' });
  });
}
