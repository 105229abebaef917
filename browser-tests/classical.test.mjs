// Classical models in a real Chromium: autorun fits logistic regression, the random forest and KNN on a
// small subset in the worker; the Compare tab lists all three with accuracies well above chance, sorts,
// draws its charts and exports the table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun, canvasInk } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

async function runTo(page, query) {
  await page.goto(`${server.url}?tab=train&backend=cpu&train_size=2000&test_size=500&autorun=1&${query}`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  const status = await waitForRun(page);
  assert.equal(status, 'done', await byTestId(page, 'train-progress-text').textContent());
  return Number(await byTestId(page, 'metric-test-accuracy').textContent());
}

test('logistic regression, forest and KNN fit in the worker and land in one sortable, exportable comparison', async () => {
  const { page, errors } = await openPage(browser, server.url);
  const accuracies = {
    logreg: await runTo(page, 'model=logreg&epochs=3'),
    forest: await runTo(page, 'model=forest&trees=30&workers=2'),
    knn: await runTo(page, 'model=knn&k=5'),
  };
  // The forest's trees grew on two workers (`workers=2`: the worker and one helper, started even where
  // the browser reports one core), so the helpers are covered on any machine.
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const forestRow = await page.locator('[data-testid="model-list"] tr[data-model="forest"]').textContent();
  assert.match(forestRow, /CPU, 2 Web Workers/, forestRow);
  console.log(`# forest: ${cores} cores; ${forestRow.match(/CPU[^0-9]*\d* ?[A-Za-z ]*/)?.[0]}`);
  for (const [model, accuracy] of Object.entries(accuracies)) {
    // Ten classes: chance is 0.1. On 2,000 training images all three reach ~0.75-0.8 natively.
    assert.ok(accuracy > 0.6, `${model}: test accuracy ${accuracy}`);
  }

  await byTestId(page, 'tab-compare').click();
  const table = byTestId(page, 'comparison-table');
  await table.waitFor();
  for (const [model, accuracy] of Object.entries(accuracies)) {
    const row = table.locator(`tbody tr[data-model="${model}"]`);
    assert.equal(await row.count(), 1, model);
    assert.equal(Number(await row.locator('[data-testid="row-accuracy"]').textContent()), accuracy);
  }
  // Sorted by accuracy, best first; a click on the header turns the order around.
  const order = async () => table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.querySelector('[data-testid="row-accuracy"]').textContent)));
  const first = await order();
  assert.deepEqual(first, [...first].sort((a, b) => b - a));
  await byTestId(page, 'sort-accuracy').click();
  const second = await order();
  assert.deepEqual(second, [...second].sort((a, b) => a - b));
  for (const chart of ['compare-accuracy-chart', 'compare-time-chart', 'compare-left', 'compare-right']) {
    await byTestId(page, chart).scrollIntoViewIfNeeded();
    const ink = await canvasInk(page, chart);
    assert.ok(ink.ink > 1_000 && ink.colours > 3, `${chart}: ${JSON.stringify(ink)}`);
  }
  // The CSV holds a header and one line per model.
  await byTestId(page, 'export-csv').scrollIntoViewIfNeeded();
  const [download] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'export-csv').click()]);
  const csv = await readFile(await download.path(), 'utf8');
  const lines = csv.trim().split('\n');
  assert.equal(lines.length, 4, csv);
  assert.ok(lines[0].startsWith('name,model,kind,test_accuracy'), lines[0]);
  for (const model of Object.keys(accuracies)) assert.ok(lines.some((l) => l.split(',')[1] === model), model);
  assert.deepEqual(errors, []);
  console.log(`# classical on 2000 images: ${JSON.stringify(accuracies)}`);
  await page.close();
});

test('tta=1 tests each image with its mirror image too, and says so in the summary and the comparison', async () => {
  const { page, errors } = await openPage(browser, server.url);
  const plain = await runTo(page, 'model=logreg&epochs=3&workers=1');
  assert.equal(await byTestId(page, 'metric-test-images').textContent(), '500');
  const mirrored = await runTo(page, 'model=logreg&epochs=3&workers=1&tta=1');
  // The same seed and one worker train the same weights; only the test differs.
  assert.ok(mirrored > 0.6, `mirrored test accuracy ${mirrored}`);
  assert.notEqual(mirrored, plain, 'a logistic regression is not mirror-symmetric, so the mean of the two views moves its score');
  assert.match(await byTestId(page, 'metric-test-images').textContent(), /^500, each with its mirror image/);
  assert.equal(await byTestId(page, 'tta-input').isChecked(), true);
  await byTestId(page, 'tab-compare').click();
  const kinds = await byTestId(page, 'comparison-table').locator('tbody tr[data-model="logreg"] td:first-of-type').allTextContents();
  assert.equal(kinds.filter((k) => k.endsWith(', mirrored test')).length, 1, JSON.stringify(kinds));
  assert.deepEqual(errors, []);
  console.log(`# logreg on 2000 images: test accuracy ${plain}, with tta ${mirrored}`);
  await page.close();
});
