// The foundation in a real Chromium: the dataset loads over fetch, the explorer draws, bad files are named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, byTestId, waitForStatus, canvasInk } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('loads Fashion-MNIST, shows counts, samples, class balance and the WebGPU adapter', async () => {
  const started = Date.now();
  const { page, errors } = await openPage(browser, server.url);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready', await page.content());
  const readyMs = Date.now() - started;
  assert.equal(await byTestId(page, 'dataset-train-count').textContent(), '54000');
  assert.equal(await byTestId(page, 'dataset-val-count').textContent(), '6000');
  assert.equal(await byTestId(page, 'dataset-test-count').textContent(), '10000');

  await byTestId(page, 'sample-grid').waitFor();
  const grid = await canvasInk(page, 'sample-grid');
  // 100 images of 56x56 px: most pixels of a Fashion-MNIST item are background, but thousands are not.
  assert.ok(grid.ink > 20_000, `sample grid has only ${grid.ink} drawn pixels`);
  assert.ok(grid.colours > 100, `sample grid has only ${grid.colours} grey levels`);
  const balance = await canvasInk(page, 'class-balance-chart');
  assert.ok(balance.ink > 5_000 && balance.colours >= 4, JSON.stringify(balance));
  const means = await canvasInk(page, 'mean-images');
  assert.ok(means.ink > 5_000, JSON.stringify(means));

  // Hovering the first bar (train, T-shirt/top) shows its count.
  await byTestId(page, 'class-balance-chart').scrollIntoViewIfNeeded();
  const box = await byTestId(page, 'class-balance-chart').boundingBox();
  const c = await page.evaluate(() => { const e = document.querySelector('[data-testid="class-balance-chart"]'); return [e.width, e.height]; });
  const sx = box.width / c[0], sy = box.height / c[1];
  // The plot area starts at 96 px (12 margin + 84 labels); the first train bar spans [0.1, 0.37] of a
  // category's width.
  const categoryWidth = (c[0] - 96 - 12) / 10;
  await page.mouse.move(box.x + (96 + categoryWidth * 0.2) * sx, box.y + (c[1] - 48 - 20) * sy);
  assert.equal(await byTestId(page, 'chart-tooltip').textContent(), 'Train · T-shirt/top: 5,400');

  // The backend detection names the SwiftShader WebGPU adapter.
  await page.waitForFunction(() => !document.querySelector('[data-testid="backend-name"]').textContent.includes('detecting'), null, { timeout: 120_000 });
  const backend = await byTestId(page, 'backend-name').textContent();
  assert.match(backend, /WebGPU/);
  assert.match(backend, /swiftshader/i);

  // Clicking a sample enlarges it; resampling draws other images.
  await byTestId(page, 'sample-grid').scrollIntoViewIfNeeded();
  const gridBox = await byTestId(page, 'sample-grid').boundingBox();
  await page.mouse.click(gridBox.x + 5, gridBox.y + 5);
  await byTestId(page, 'enlarged-image').waitFor();
  assert.match(await byTestId(page, 'enlarged-image').textContent(), /T-shirt\/top/);
  const before = await page.evaluate(() => document.querySelector('[data-testid="sample-grid"]').toDataURL());
  await byTestId(page, 'resample-button').click();
  await page.waitForFunction((b) => document.querySelector('[data-testid="sample-grid"]').toDataURL() !== b, before);

  // A new split with another seed keeps the counts and updates the URL.
  await byTestId(page, 'split-seed').fill('7');
  await byTestId(page, 'split-seed').dispatchEvent('change');
  await byTestId(page, 'split-apply').click();
  await page.waitForFunction(() => location.search.includes('seed=7'));
  assert.equal(await byTestId(page, 'dataset-val-count').textContent(), '6000');

  assert.deepEqual(errors, [], 'console errors');
  console.log(`# navigation to dataset-status=ready: ${readyMs} ms`);
  await page.close();
});

for (const [kase, file, pattern] of [
  ['wrong-magic', 'train-labels-idx1-ubyte.gz', /wrong magic number/],
  ['bad-gzip', 't10k-images-idx3-ubyte.gz', /not a valid gzip file/],
  ['truncated', 't10k-labels-idx1-ubyte.gz', /truncated/],
  ['missing', 't10k-labels-idx1-ubyte.gz', /could not download.*404/],
]) {
  test(`a ${kase} data file shows a message naming ${file}, with a retry`, async () => {
    const { page } = await openPage(browser, `${server.url}?data=bad/${kase}/`);
    assert.equal(await waitForStatus(page, ['ready', 'error']), 'error');
    const banner = await byTestId(page, 'error-banner').textContent();
    assert.ok(banner.includes(file), banner);
    assert.match(banner, pattern);
    await byTestId(page, 'retry-button').waitFor();
    // The page is alive: the header and the picker for other files still render.
    assert.ok(await byTestId(page, 'dataset-files').count() === 1);
    await page.close();
  });
}
