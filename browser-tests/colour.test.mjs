// Colour data in a real Chromium: Fashion-MNIST in colour through the explorer, a CNN's training, Grad-CAM
// and the Predict tab's colour pipeline; CIFAR-10 files made here, picked from disk and trained on; a
// damaged CIFAR file named in a message while the page keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun, canvasInk } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Pixels of a canvas whose channels differ by more than 40 (not gray), and all pixels. */
async function colourful(page, testid) {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) n++;
    }
    return { colourful: n, pixels: d.length / 4 };
  }, testid);
}

test('Fashion-MNIST in colour: the explorer, a CNN trained on it, Grad-CAM and a colour picture', async () => {
  const url = `${server.url}?data=fashion-colour&recipe=quick&train_size=6000&test_size=1000&backend=cpu&workers=2&autorun=1`;
  const { page, errors } = await openPage(browser, url);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready', await page.content());
  assert.equal(await byTestId(page, 'dataset-channels').getAttribute('data-channels'), '3');
  assert.match(await byTestId(page, 'dataset-image-size').textContent(), /28×28/);
  await byTestId(page, 'sample-grid').waitFor();
  const grid = await colourful(page, 'sample-grid');
  assert.ok(grid.colourful > grid.pixels / 4, `sample grid: ${JSON.stringify(grid)}`);
  assert.ok((await colourful(page, 'mean-images')).colourful >= 0);
  // One histogram series per channel: red, green and blue bars.
  const histogram = await canvasInk(page, 'pixel-histogram');
  assert.ok(histogram.colours >= 4, JSON.stringify(histogram));

  await byTestId(page, 'tab-train').click();
  assert.equal(await waitForRun(page, 600_000), 'done', await byTestId(page, 'train-progress-text').textContent());
  const accuracy = Number(await byTestId(page, 'metric-test-accuracy').textContent());
  // Ten classes (chance 0.1); colours are drawn per image whatever the class, so this is shape.
  assert.ok(accuracy > 0.5, `test accuracy ${accuracy}`);

  // Grad-CAM of a test image: the original keeps its colour, the overlay blends it with the heatmap.
  await byTestId(page, 'browse-test-button').click();
  const item = page.locator('[data-testid="gallery-item"]').nth(2);
  await item.focus();
  await page.keyboard.press('Enter');
  await byTestId(page, 'gradcam-overlay').waitFor({ timeout: 60_000 });
  const original = await colourful(page, 'gradcam-original');
  assert.ok(original.colourful > original.pixels / 4, `Grad-CAM original: ${JSON.stringify(original)}`);
  const pictures = await page.evaluate(() => ['gradcam-original', 'gradcam-heatmap', 'gradcam-overlay']
    .map((id) => document.querySelector(`[data-testid="${id}"]`).toDataURL()));
  assert.equal(new Set(pictures).size, 3);

  // A colour picture keeps its colour through the Predict tab's pipeline; the gray steps are a switch.
  await byTestId(page, 'tab-predict').click();
  const png = await page.evaluate(() => {
    const c = document.createElement('canvas'); c.width = 90; c.height = 60;
    const g = c.getContext('2d'); g.fillStyle = '#2060d0'; g.fillRect(0, 0, 90, 60);
    g.fillStyle = '#e0a020'; g.fillRect(30, 10, 30, 45);
    return c.toDataURL('image/png').split(',')[1];
  });
  await byTestId(page, 'upload-input').setInputFiles({ name: 'coat.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  await byTestId(page, 'prediction-top1').waitFor({ timeout: 60_000 });
  assert.equal(await byTestId(page, 'step-gray').isChecked(), false);
  assert.equal(await byTestId(page, 'step-invert').count(), 0, 'the gray steps are off for colour data');
  const stages = await page.locator('[data-testid="pipeline"] figcaption').allTextContents();
  assert.ok(stages.some((s) => s.startsWith('colour kept')) && stages.some((s) => s.includes('28x28')), stages.join(' | '));
  await byTestId(page, 'step-gray').check();
  await byTestId(page, 'step-invert').waitFor();
  await byTestId(page, 'prediction-top1').waitFor();
  assert.deepEqual(errors, [], 'console errors');
  await page.close();
});

/** CIFAR-10 binary records: class c's images are filled with colour c plus noise, seeded. */
function cifarRecords(n, seed) {
  const colours = [[230, 30, 30], [30, 200, 40], [40, 60, 230], [220, 220, 30], [200, 40, 200],
    [30, 210, 210], [250, 140, 20], [120, 60, 20], [250, 250, 250], [20, 20, 20]];
  let s = seed;
  const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const out = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    const label = i % 10;
    out[i * 3073] = label;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) {
        out[i * 3073 + 1 + c * 1024 + p] = Math.max(0, Math.min(255, colours[label][c] + Math.round((rand() - 0.5) * 80)));
      }
    }
  }
  return out;
}

test('CIFAR-10 files picked from disk load in colour and train; a damaged one is named', async () => {
  const { page, errors } = await openPage(browser, `${server.url}?backend=cpu`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  const files = [1, 2, 3, 4, 5].map((b) => ({ name: `data_batch_${b}.bin`, mimeType: 'application/octet-stream', buffer: cifarRecords(60, b) }));
  files.push({ name: 'test_batch.bin', mimeType: 'application/octet-stream', buffer: cifarRecords(100, 9) });
  const names = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';
  files.push({ name: 'batches.meta.txt', mimeType: 'text/plain', buffer: Buffer.from(names) });

  // One batch cut short: the message names it, and the loaded Fashion-MNIST stays usable.
  const damaged = files.map((f) => f.name === 'data_batch_3.bin' ? { ...f, buffer: f.buffer.subarray(0, 5000) } : f);
  await byTestId(page, 'dataset-cifar-input').setInputFiles(damaged);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'error');
  const banner = await byTestId(page, 'error-banner').textContent();
  assert.match(banner, /data_batch_3\.bin/);

  await byTestId(page, 'dataset-cifar-input').setInputFiles(files);
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-channels"]')?.getAttribute('data-channels') === '3', null, { timeout: 120_000 });
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  assert.equal(await byTestId(page, 'dataset-train-count').textContent(), '270');
  assert.equal(await byTestId(page, 'dataset-test-count').textContent(), '100');
  assert.match(await byTestId(page, 'dataset-image-size').textContent(), /32×32/);
  const grid = await colourful(page, 'sample-grid');
  assert.ok(grid.colourful > grid.pixels / 4, JSON.stringify(grid));

  // Logistic regression learns the colours.
  await byTestId(page, 'tab-train').click();
  await byTestId(page, 'model-select').selectOption('logreg');
  await byTestId(page, 'epochs-input').fill('3');
  await byTestId(page, 'epochs-input').dispatchEvent('change');
  await byTestId(page, 'train-button').click();
  assert.equal(await waitForRun(page, 300_000), 'done');
  const accuracy = Number(await byTestId(page, 'metric-test-accuracy').textContent());
  assert.ok(accuracy > 0.5, `logistic regression on the CIFAR files: ${accuracy}`);
  const classes = await page.locator('[data-testid="per-class-table"] tbody th').allTextContents();
  assert.ok(classes.includes('truck'), classes.join(', '));
  assert.deepEqual(errors.filter((e) => !e.includes('data_batch_3')), [], 'console errors');
  await page.close();
});
