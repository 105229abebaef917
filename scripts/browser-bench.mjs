// In-browser benchmark (not a test): trains in headless Chromium through the page's own autorun and prints
// one JSON line per figure. Usage: node scripts/browser-bench.mjs [model] [backend] [train_size] [batch] [extra]
// (`extra`: more URL settings, such as `trees=100` or `epochs=20`; they override the ones set here).
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun } from '../browser-tests/harness.mjs';

const [model = 'refcnn', backend = 'cpu', trainSize = '1280', batch = '64', extra = ''] = process.argv.slice(2);
const server = await startServer();
const browser = await launch();
try {
  const started = Date.now();
  const url = `${server.url}?tab=train&model=${model}&epochs=1&train_size=${trainSize}&batch=${batch}&test_size=2000&val=1&augment=0&backend=${backend}&autorun=1${extra ? `&${extra}` : ''}`;
  const { page } = await openPage(browser, url);
  await waitForStatus(page, ['ready']);
  const readyMs = Date.now() - started;
  const status = await waitForRun(page, 3_600_000);
  const figure = async (id) => Number(await byTestId(page, id).textContent());
  const line = {
    date: new Date().toISOString().slice(0, 10), model, backend, batch: Number(batch), train_images: Number(trainSize), extra, status,
    navigation_to_ready_ms: readyMs,
    train_samples_per_second: await figure('metric-samples-per-second'),
    train_seconds: await figure('metric-train-seconds'),
    test_accuracy: await figure('metric-test-accuracy'),
    backend_name: await byTestId(page, 'backend-name').textContent(),
  };
  console.log(JSON.stringify(line));
} finally {
  await browser.close();
  await server.close();
}
