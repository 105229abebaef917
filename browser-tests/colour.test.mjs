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

  // One batch cut short: the message names it, and the loaded Fashion-MNIST stays in use.
  const damaged = files.map((f) => f.name === 'data_batch_3.bin' ? { ...f, buffer: f.buffer.subarray(0, 5000) } : f);
  await byTestId(page, 'dataset-cifar-input').setInputFiles(damaged);
  await page.waitForFunction(() => document.querySelector('[data-testid="error-banner"]')?.textContent.includes('data_batch_3.bin'), null, { timeout: 60_000 });
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  assert.equal(await byTestId(page, 'dataset-train-count').textContent(), '54000');
  assert.match(await byTestId(page, 'error-banner').textContent(), /stays in use/);

  await byTestId(page, 'dataset-cifar-input').setInputFiles(files);
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-channels"]')?.getAttribute('data-channels') === '3', null, { timeout: 120_000 });
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  assert.equal(await byTestId(page, 'dataset-train-count').textContent(), '270');
  assert.equal(await byTestId(page, 'dataset-test-count').textContent(), '100');
  assert.match(await byTestId(page, 'dataset-image-size').textContent(), /32×32/);
  await byTestId(page, 'sample-grid').waitFor();
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

/** A zip archive (stored entries) of [path, bytes] pairs, as a standard tool writes one. */
function zip(entries) {
  const locals = []; const central = []; let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30); local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26);
    const dir = Buffer.alloc(46); dir.writeUInt32LE(0x02014b50, 0); dir.writeUInt16LE(20, 4); dir.writeUInt16LE(20, 6);
    dir.writeUInt32LE(data.length, 20); dir.writeUInt32LE(data.length, 24); dir.writeUInt16LE(n.length, 28);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, n, data); central.push(dir, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22); end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10); end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** PNGs made in the page: `n` of each class, red discs on white and blue squares on black, of varied sizes. */
async function pictures(page, n) {
  const made = await page.evaluate((n) => {
    const out = [];
    for (let i = 0; i < 2 * n; i++) {
      const red = i % 2 === 0;
      const c = document.createElement('canvas'); c.width = 40 + (i % 7) * 9; c.height = 36 + (i % 5) * 11;
      const g = c.getContext('2d');
      g.fillStyle = red ? '#ffffff' : '#000000'; g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = red ? `rgb(${200 + (i % 50)},30,40)` : `rgb(30,60,${190 + (i % 60)})`;
      const r = Math.min(c.width, c.height) * (0.25 + (i % 3) * 0.05);
      if (red) { g.beginPath(); g.arc(c.width / 2, c.height / 2, r, 0, 7); g.fill(); } else g.fillRect(c.width / 2 - r, c.height / 2 - r, 2 * r, 2 * r);
      out.push([red ? 'red' : 'blue', `${i}.png`, c.toDataURL('image/png').split(',')[1]]);
    }
    return out;
  }, n);
  return made.map(([cls, name, b64]) => [cls, name, Buffer.from(b64, 'base64')]);
}

test('a folder of pictures, with a broken one, trains logistic regression and the CNN; a zip with train/ and test/; both kept after a reload', async () => {
  const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { page, errors } = await openPage(browser, `${server.url}?backend=cpu&size=24`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  const made = await pictures(page, 30);
  const root = await mkdtemp(join(tmpdir(), 'atelier-pictures-'));
  try {
    for (const cls of ['red', 'blue']) await mkdir(join(root, 'shapes', cls), { recursive: true });
    for (const [cls, name, bytes] of made) await writeFile(join(root, 'shapes', cls, name), bytes);
    await writeFile(join(root, 'shapes', 'blue', 'broken.png'), Buffer.from('not a picture at all'));
    await writeFile(join(root, 'shapes', 'notes.txt'), 'hello');
    assert.equal(await byTestId(page, 'import-size').inputValue(), '24');
    await byTestId(page, 'dataset-folder-input').setInputFiles(join(root, 'shapes'));
    await page.waitForFunction(() => document.querySelector('[data-testid="dataset-skipped"]'), null, { timeout: 120_000 });
    assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
    assert.equal(await byTestId(page, 'dataset-skipped').textContent(), '2');
    const report = await byTestId(page, 'import-report').textContent();
    assert.match(report, /60 pictures decoded from 40×36 to 94×80 px/);
    assert.match(await byTestId(page, 'dataset-image-size').textContent(), /24×24/);
    assert.equal(await byTestId(page, 'dataset-channels').getAttribute('data-channels'), '3');
    // 60 pictures, a fifth of each class for testing: 12; of the 48 left, 2 a class for validation.
    assert.equal(await byTestId(page, 'dataset-test-count').textContent(), '12');
    assert.equal(await byTestId(page, 'dataset-train-count').textContent(), '44');
    await byTestId(page, 'sample-grid').waitFor();
    assert.ok((await colourful(page, 'sample-grid')).colourful > 500);

    await byTestId(page, 'tab-train').click();
    for (const [model, epochs] of [['logreg', '5'], ['cnn', '6']]) {
      await byTestId(page, 'model-select').selectOption(model);
      await byTestId(page, 'epochs-input').fill(epochs);
      await byTestId(page, 'epochs-input').dispatchEvent('change');
      await byTestId(page, 'train-button').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === 'running', null, { timeout: 30_000 });
      assert.equal(await waitForRun(page, 300_000), 'done');
      const accuracy = Number(await byTestId(page, 'metric-test-accuracy').textContent());
      assert.ok(accuracy >= 0.75, `${model} on the pictures: ${accuracy} (chance 0.5)`);
    }

    // A zip of train/ and test/ folders, dropped on the page: the folders give the parts.
    await byTestId(page, 'tab-data').click();
    const entries = made.map(([cls, name, bytes], i) => [`${i % 3 === 0 ? 'test' : 'train'}/${cls}/${name}`, bytes]);
    const archive = zip(entries).toString('base64');
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'shapes.zip', { type: 'application/zip' }));
      document.querySelector('[data-testid="dataset-drop-zone"]').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, archive);
    await page.waitForFunction(() => document.querySelector('[data-testid="dataset-test-count"]')?.textContent === '20', null, { timeout: 120_000 });
    assert.match(await byTestId(page, 'import-report').textContent(), /train\/ and test\/ folders/);
    assert.equal(await byTestId(page, 'dataset-skipped').textContent(), '0');
    // A zip that is not one: a message, and the pictures stay loaded.
    await byTestId(page, 'dataset-zip-input').setInputFiles({ name: 'fake.zip', mimeType: 'application/zip', buffer: Buffer.from('PK nothing') });
    await page.waitForFunction(() => document.querySelector('[data-testid="error-banner"]')?.textContent.includes('fake.zip'), null, { timeout: 60_000 });
    assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
    assert.equal(await byTestId(page, 'dataset-test-count').textContent(), '20');

    // Both imports are kept in the browser: the URL names the one in use, and a reload brings it back.
    assert.match(page.url(), /data=saved%3Ad\d+|data=saved:d\d+/);
    assert.equal(await page.locator('[data-testid="dataset-list"] tr[data-dataset^="saved:"]').count(), 2);
    await page.reload();
    assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
    assert.equal(await byTestId(page, 'dataset-test-count').textContent(), '20');
    assert.equal(await byTestId(page, 'dataset-channels').getAttribute('data-channels'), '3');
    // Open the other kept one, then delete it.
    const other = page.locator('[data-testid="dataset-list"] tr[data-dataset^="saved:"]:not([aria-current]) [data-testid="dataset-open"]');
    await other.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="dataset-test-count"]')?.textContent === '12', null, { timeout: 120_000 });
    await page.locator('[data-testid="dataset-list"] tr[aria-current] [data-testid="dataset-delete"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="dataset-list"] tr[data-dataset^="saved:"]').length === 1);
    assert.deepEqual(errors, [], 'console errors');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  await page.close();
});

test('the camera: capture two classes, train on the frames, then live predictions with Grad-CAM', async () => {
  const { page, errors } = await openPage(browser, `${server.url}?backend=cpu&size=16`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  await byTestId(page, 'camera-panel').click();
  await byTestId(page, 'camera-start').click();
  await byTestId(page, 'camera-class-name').waitFor({ timeout: 30_000 });
  const hold = async (cls, ms) => {
    const button = page.locator(`[data-testid="camera-capture"][data-class="${cls}"]`);
    await button.hover();
    await page.mouse.down();
    await page.waitForTimeout(ms);
    await page.mouse.up();
  };
  for (const [i, cls] of ['left', 'right'].entries()) {
    await byTestId(page, 'camera-class-name').fill(cls);
    await byTestId(page, 'camera-add-class').click();
    await hold(cls, 1500);
    const count = Number(await byTestId(page, `camera-count-${i}`).textContent());
    assert.ok(count >= 8, `${cls}: ${count} frames`);
  }
  await byTestId(page, 'camera-use').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-image-size"]')?.textContent.includes('16×16'), null, { timeout: 60_000 });
  assert.equal(await byTestId(page, 'dataset-channels').getAttribute('data-channels'), '3');

  await byTestId(page, 'tab-train').click();
  await byTestId(page, 'model-select').selectOption('cnn');
  await byTestId(page, 'epochs-input').fill('2');
  await byTestId(page, 'epochs-input').dispatchEvent('change');
  await byTestId(page, 'train-button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === 'running', null, { timeout: 30_000 });
  assert.equal(await waitForRun(page, 300_000), 'done');

  // Back on the Data tab the camera starts again and every model answers the live picture.
  await byTestId(page, 'tab-data').click();
  await byTestId(page, 'camera-panel').click();
  await byTestId(page, 'camera-start').click();
  await byTestId(page, 'camera-prediction').waitFor({ timeout: 60_000 });
  const first = Number(await byTestId(page, 'camera-prediction').getAttribute('data-answers'));
  await page.waitForTimeout(3000);
  const later = Number(await byTestId(page, 'camera-prediction').getAttribute('data-answers'));
  const rate = (later - first) / 3;
  assert.ok(rate >= 2, `live answers per second: ${rate}`);
  console.log(`# camera live answers per second: ${rate.toFixed(1)}`);
  assert.equal(await page.locator('[data-testid="camera-prediction"] tr[data-model="cnn"]').count(), 1);
  assert.ok((await canvasInk(page, 'camera-gradcam-overlay')).colours > 5);
  assert.deepEqual(errors, [], 'console errors');
  await page.close();

  // A refused camera says so, and the rest of the page works.
  const refused = await browser.newPage();
  await refused.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
  });
  await refused.goto(`${server.url}?backend=cpu`);
  assert.equal(await waitForStatus(refused, ['ready', 'error']), 'ready');
  await byTestId(refused, 'camera-panel').click();
  await byTestId(refused, 'camera-start').click();
  await byTestId(refused, 'camera-problem').waitFor({ timeout: 30_000 });
  assert.match(await byTestId(refused, 'camera-problem').textContent(), /not allowed.*works without it/);
  await byTestId(refused, 'tab-train').click();
  await byTestId(refused, 'train-button').waitFor();
  await refused.close();
});
