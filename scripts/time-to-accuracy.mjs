// Time to accuracy of a network's defaults in the page (not a test): trains `model` with the page's defaults
// (plus any extra URL settings) in headless Chromium on the CPU backend, through the page's own autorun, on
// all the training images and all 10,000 test images, and watches the live accuracy chart: prints the
// seconds from the start of training until the validation accuracy (the 10% the page holds out) first
// reached each threshold, then the final test accuracy and training seconds, as one JSON line.
// Usage: node scripts/time-to-accuracy.mjs [model, default cnn] [thresholds, default 0.90,0.93] [extra]
// Needs `make dist` first (`ATELIER_DIST=folder` serves another build).
import { startServer, launch, openPage, byTestId, waitForStatus } from '../browser-tests/harness.mjs';

const [model = 'cnn', thresholds = '0.90,0.93', extra = ''] = process.argv.slice(2);
const wanted = thresholds.split(',').map(Number);
const server = await startServer();
const browser = await launch();
try {
  const url = `${server.url}?tab=train&backend=cpu&autorun=1&model=${model}${extra ? `&${extra}` : ''}`;
  const { page } = await openPage(browser, url);
  await waitForStatus(page, ['ready']);
  let start = null;
  const reached = {};
  const epochs = [];
  for (;;) {
    const status = await byTestId(page, 'run-status').textContent().catch(() => '');
    if (start === null && status === 'running') {
      start = performance.now();
    }
    const label = await byTestId(page, 'accuracy-chart').getAttribute('aria-label').catch(() => null);
    const m = label && /validation ([0-9.]+) at epoch ([0-9.]+)/.exec(label);
    if (m && start !== null) {
      const [accuracy, epoch] = [Number(m[1]), Number(m[2])];
      const seconds = Number(((performance.now() - start) / 1000).toFixed(1));
      if (!epochs.length || epochs.at(-1).epoch !== epoch) {
        epochs.push({ epoch, validation_accuracy: accuracy, seconds });
        console.error(JSON.stringify(epochs.at(-1)));
      }
      for (const t of wanted) if (accuracy >= t && !(t in reached)) reached[t] = seconds;
    }
    if (['done', 'stopped', 'failed'].includes(status)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const figure = async (id) => parseFloat(await byTestId(page, id).textContent());
  console.log(JSON.stringify({
    date: new Date().toISOString().slice(0, 10), model, extra,
    seconds_to_validation_accuracy: reached, epochs,
    test_accuracy: await figure('metric-test-accuracy'),
    test_images: await figure('metric-test-images'),
    train_seconds: await figure('metric-train-seconds'),
    train_samples_per_second: await figure('metric-samples-per-second'),
  }));
} finally {
  await browser.close();
  await server.close();
}
