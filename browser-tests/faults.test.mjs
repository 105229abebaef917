// Faults in a real Chromium: the WebGPU device destroyed mid-run (as a driver reset would) keeps the best
// epoch and moves to the CPU backend; a full storage quota keeps the model in memory and downloadable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('a WebGPU device lost mid-run keeps the best epoch, evaluates it on the CPU and trains on there', async () => {
  // 128 images in batches of 32: 4 batches an epoch. The device is destroyed after batch 6, halfway
  // through epoch 2, so epoch 1 (validated on 120 images) is the model to keep.
  const url = `${server.url}?tab=train&model=refcnn&epochs=2&train_size=128&test_size=200&val=0.2&batch=32`
    + '&lr=0.002&augment=0&backend=webgpu&lose_device_after=6&autorun=1';
  const { page, errors } = await openPage(browser, url);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  await page.waitForFunction(() => /WebGPU/.test(document.querySelector('[data-testid="backend-name"]').textContent), null, { timeout: 120_000 });
  assert.equal(await waitForRun(page, 600_000), 'stopped', await byTestId(page, 'train-progress-text').textContent());
  const lost = await byTestId(page, 'device-lost').textContent();
  assert.match(lost, /GPU stopped working.*epoch 1 was kept/s);
  // The worker moved to the CPU backend and says why.
  assert.match(await byTestId(page, 'backend-name').textContent(), /CPU/);
  assert.match(await byTestId(page, 'backend-reason').textContent(), /GPU was lost/);
  // The kept model was evaluated (on the CPU) on all 200 test images and is listed.
  const accuracy = Number(await byTestId(page, 'metric-test-accuracy').textContent());
  // One epoch on 128 images scored 0.37 in every CI run (chance is 0.1).
  assert.ok(accuracy > 0.3, `test accuracy of the kept epoch ${accuracy}`);
  assert.equal(await page.locator('[data-testid="model-list"] tr[data-model="refcnn"]').count(), 1);
  // Going on: the button trains again, now on the CPU backend, and the first model stays.
  await byTestId(page, 'use-cpu-button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === 'running', null, { timeout: 60_000 });
  assert.equal(await waitForRun(page, 300_000), 'done');
  const rows = page.locator('[data-testid="model-list"] tr[data-model="refcnn"]');
  const texts = await rows.allTextContents();
  assert.equal(texts.length, 2);
  assert.equal(texts.filter((t) => /WebGPU/.test(t)).length, 1, texts.join(' | '));
  assert.equal(texts.filter((t) => /CPU/.test(t)).length, 1, texts.join(' | '));
  // The lost device is handled, not reported: no console error at all (none were seen on 2026-12-02).
  assert.deepEqual(errors, []);
  console.log(`# device loss: the kept epoch scored ${accuracy} on 200 test images`);
  await page.close();
});

test('a full storage quota says so, keeps the model in memory and still lets it be downloaded', async () => {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(server.url).origin;
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // A quota of 1 KiB for this origin: the dataset cache may fail too, the model's write surely does.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 });
  await page.goto(`${server.url}?tab=train&model=logreg&epochs=1&train_size=1000&test_size=500&autorun=1&backend=cpu`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  assert.equal(await waitForRun(page, 300_000), 'done');
  await page.waitForFunction(() => /storage is full/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''), null, { timeout: 60_000 });
  assert.match(await byTestId(page, 'notice').textContent(), /stays available until you close the page; download it/);
  assert.equal(await page.locator('[data-testid="model-list"] tr[data-model="logreg"]').count(), 1);
  const [download] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'download-model').first().click()]);
  const file = await download.path();
  const bytes = await readFile(file);
  // 784 x 10 weights and 10 biases in f32, plus the record's header and the report.
  assert.ok(bytes.length > 31_400, `the downloaded model has ${bytes.length} bytes`);
  // The file loads back (and, the quota being full, stays in memory too).
  await byTestId(page, 'model-file-input').setInputFiles(file);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="model-list"] tr[data-model="logreg"]').length === 2, null, { timeout: 60_000 });
  assert.deepEqual(errors, []);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await page.close();
});

test('a page that cannot run (a background tab, or a busy main thread): the worker trains on and the charts catch up', async () => {
  // Headless Chromium cannot put a tab in the background, so the page's thread is stopped outright
  // instead (stricter: a background tab is only throttled): a 6 s busy loop on the main thread.
  const { page, errors } = await openPage(browser, `${server.url}?tab=train&backend=cpu&model=refcnn&epochs=1&train_size=3200&batch=32&test_size=200&augment=0&autorun=1`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  const epochAt = async () => Number(((await byTestId(page, 'loss-chart').getAttribute('aria-label')).match(/at epoch ([\d.]+)/) ?? [0, -1])[1]);
  await page.waitForFunction(() => /at epoch 0\.[1-9]/.test(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('aria-label') ?? ''), null, { timeout: 120_000 });
  const before = await epochAt();
  const blocked = await page.evaluate(() => {
    const start = performance.now();
    while (performance.now() - start < 6_000) { /* the page's thread does nothing else */ }
    return performance.now() - start;
  });
  await page.waitForTimeout(500);
  const after = await epochAt();
  // The reference CNN trains at 100-200 samples/s here: 6 s is 0.2-0.4 of an epoch of 3,200 images, so
  // 0.05 leaves room for a busy machine.
  assert.ok(after >= before + 0.05, `the loss chart went from epoch ${before} to ${after} over ${blocked.toFixed(0)} ms`);
  assert.equal(await waitForRun(page), 'done');
  assert.deepEqual(errors, []);
  console.log(`# main thread stopped for ${blocked.toFixed(0)} ms: the loss chart moved from epoch ${before} to ${after} right after`);
  await page.close();
});

test('no IndexedDB at all (as in some private modes): a message, the model stays in memory and downloads', async () => {
  // The worker script is served with a first line that takes IndexedDB away, as a browser that refuses it
  // would: any use throws.
  const prelude = "Object.defineProperty(self, 'indexedDB', { get() { throw new DOMException('IndexedDB is disabled in this mode', 'InvalidStateError'); } });\n";
  const noStorage = await startServer({ rewrite: (path, body) => (path === '/worker.js' ? prelude + body : body) });
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    // Also without a validation part (`val=0`): the summary says so instead of showing zeros.
    await page.goto(`${noStorage.url}?tab=train&model=logreg&epochs=1&train_size=1000&test_size=500&val=0&autorun=1&backend=cpu`);
    assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
    assert.equal(await waitForRun(page, 300_000), 'done');
    assert.match(await byTestId(page, 'model-summary').textContent(), /Final validation accuracy \/ loss– \(no validation part\)/);
    await page.waitForFunction(() => /could not be saved in this browser's storage/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''), null, { timeout: 60_000 });
    const notice = await byTestId(page, 'notice').textContent();
    assert.match(notice, /Saved models could not be read/);
    assert.match(notice, /IndexedDB is disabled in this mode/);
    assert.equal(await page.locator('[data-testid="model-list"] tr[data-model="logreg"]').count(), 1);
    const [download] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'download-model').first().click()]);
    assert.ok((await readFile(await download.path())).length > 31_400);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await noStorage.close();
  }
});
