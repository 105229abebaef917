// Time to accuracy in the page (not a test): trains a recipe in headless Chromium on the CPU backend through
// the page's own autorun, on all the training images (after the page's validation split) and all 10,000 test
// images, once per seed, and prints one JSON line per run and one with the mean and spread.
// Usage: node scripts/recipe-bench.mjs [recipe] [seeds, comma-separated] [extra URL settings]
// e.g. `node scripts/recipe-bench.mjs quick 1,2,3` or `node scripts/recipe-bench.mjs fast 1 workers=2`.
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun } from '../browser-tests/harness.mjs';

const [recipe = 'quick', seeds = '1,2,3', extra = ''] = process.argv.slice(2);
const server = await startServer();
const browser = await launch();
const runs = [];
try {
  for (const seed of seeds.split(',')) {
    const url = `${server.url}?tab=train&backend=cpu&autorun=1&recipe=${recipe}&seed=${seed}${extra ? `&${extra}` : ''}`;
    const { page } = await openPage(browser, url);
    await waitForStatus(page, ['ready']);
    const status = await waitForRun(page, 3_600_000);
    // The leading number of a figure ("10000, each with its mirror image (tta)" reads as 10000).
    const figure = async (id) => parseFloat(await byTestId(page, id).textContent());
    const run = {
      date: new Date().toISOString().slice(0, 10), recipe, seed: Number(seed), extra, status,
      test_accuracy: await figure('metric-test-accuracy'),
      test_images: await figure('metric-test-images'),
      train_seconds: await figure('metric-train-seconds'),
      train_samples_per_second: await figure('metric-samples-per-second'),
      inference_images_per_second: await figure('metric-inference-images-per-second'),
    };
    runs.push(run);
    console.log(JSON.stringify(run));
    await page.close();
  }
  const stats = (key) => {
    const values = runs.map((r) => r[key]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return { mean: Number(mean.toFixed(4)), min: Math.min(...values), max: Math.max(...values) };
  };
  console.log(JSON.stringify({
    recipe, runs: runs.length,
    test_accuracy: stats('test_accuracy'), train_seconds: stats('train_seconds'),
    train_samples_per_second: stats('train_samples_per_second'),
  }));
} finally {
  await browser.close();
  await server.close();
}
