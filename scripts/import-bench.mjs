// Importing pictures in the page (not a test): a folder of N JPEGs of 256 x 256 in 10 class folders is made
// on disk, picked through the folder input of headless Chromium, decoded and resized in the worker; prints
// the pictures a second (from the Data tab's "parsed in" time, which spans decoding and assembling). Then,
// with `train`, the training samples/s of the CNN and the ResNet on that data in colour (3 x 32 x 32) and in
// gray (1 x 32 x 32), one epoch each on the CPU backend.
// Usage: node scripts/import-bench.mjs [pictures, default 10000] [train]
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun } from '../browser-tests/harness.mjs';

const [count = '10000', train = ''] = process.argv.slice(2);
const pictures = Number(count);
const server = await startServer();
const browser = await launch();
const root = await mkdtemp(join(tmpdir(), 'atelier-import-bench-'));
try {
  // 200 distinct JPEGs (shapes and noise, as photographs compress), written under N names.
  const { page: maker } = await openPage(browser, server.url);
  const distinct = await maker.evaluate(async () => {
    const out = [];
    for (let i = 0; i < 200; i++) {
      const c = document.createElement('canvas'); c.width = 256; c.height = 256;
      const g = c.getContext('2d');
      g.fillStyle = `hsl(${(i * 37) % 360},60%,50%)`; g.fillRect(0, 0, 256, 256);
      const d = g.getImageData(0, 0, 256, 256);
      for (let p = 0; p < d.data.length; p += 4) d.data[p] = (d.data[p] + ((p * 7919 + i) % 61)) & 255;
      g.putImageData(d, 0, 0);
      g.fillStyle = `hsl(${(i * 91) % 360},80%,30%)`;
      g.beginPath(); g.arc(64 + (i % 128), 128, 40 + (i % 50), 0, 7); g.fill();
      out.push(c.toDataURL('image/jpeg', 0.85).split(',')[1]);
    }
    return out;
  });
  await maker.close();
  const jpegs = distinct.map((b) => Buffer.from(b, 'base64'));
  for (let k = 0; k < 10; k++) await mkdir(join(root, 'pictures', `class${k}`), { recursive: true });
  for (let i = 0; i < pictures; i++) await writeFile(join(root, 'pictures', `class${i % 10}`, `${i}.jpg`), jpegs[i % jpegs.length]);
  const bytes = jpegs.reduce((a, j) => a + j.length, 0) / jpegs.length;

  for (const gray of train ? [false, true] : [false]) {
    const { page } = await openPage(browser, `${server.url}?backend=cpu&size=32${gray ? '&gray=1' : ''}`);
    await waitForStatus(page, ['ready']);
    await byTestId(page, 'dataset-folder-input').setInputFiles(join(root, 'pictures'));
    await page.waitForFunction(() => document.querySelector('[data-testid="import-report"]'), null, { timeout: 1_800_000, polling: 250 });
    const info = await page.locator('.counts .muted').first().textContent();
    const ms = parseFloat(info.match(/parsed in ([\d.]+) ms/)[1]);
    console.log(JSON.stringify({
      date: new Date().toISOString().slice(0, 10), pictures, jpeg_bytes_mean: Math.round(bytes), side: 256,
      size: 32, gray, import_seconds: ms / 1000, pictures_per_second: Math.round(pictures / (ms / 1000)),
    }));
    if (train) {
      await byTestId(page, 'tab-train').click();
      for (const model of ['cnn', 'resnet']) {
        await byTestId(page, 'model-select').selectOption(model);
        await byTestId(page, 'epochs-input').fill('1');
        await byTestId(page, 'epochs-input').dispatchEvent('change');
        await byTestId(page, 'train-size-input').fill('3000');
        await byTestId(page, 'train-size-input').dispatchEvent('change');
        await byTestId(page, 'train-button').click();
        await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === 'running', null, { timeout: 60_000 });
        await waitForRun(page, 3_600_000);
        console.log(JSON.stringify({
          model, shape: gray ? '1x32x32' : '3x32x32', train_images: 3000,
          train_samples_per_second: parseFloat(await byTestId(page, 'metric-samples-per-second').textContent()),
        }));
      }
    }
    await page.close();
  }
} finally {
  await rm(root, { recursive: true, force: true });
  await browser.close();
  await server.close();
}
