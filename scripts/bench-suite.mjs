// `make bench` (not a test): speed in headless Chromium on this machine, side by side. For the reference
// CNN on each backend, then the default CNN and ResNet on the CPU backend: training samples/s, inference
// images/s on the test images, time from navigation to `dataset-status` = ready. Prints one JSON line per
// figure and appends a dated row per run to BENCHMARKS.md.
import { appendFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun } from '../browser-tests/harness.mjs';
import { measureFirstView } from './first-view.mjs';

// WebGPU here is SwiftShader (software): a few samples per second, so its run is small.
const RUNS = [
  { model: 'refcnn', backend: 'cpu', train: 1280, test: 10000 },
  { model: 'refcnn', backend: 'webgpu', train: 192, test: 500 },
  { model: 'cnn', backend: 'cpu', train: 1280, test: 10000 },
  { model: 'resnet', backend: 'cpu', train: 640, test: 2000 },
];

const server = await startServer();
const browser = await launch();
const date = new Date().toISOString().slice(0, 10);
const commit = execSync('git rev-parse --short HEAD').toString().trim();
const rows = [];
try {
  for (const run of RUNS) {
    const started = Date.now();
    const url = `${server.url}?tab=train&model=${run.model}&epochs=1&train_size=${run.train}&batch=64&test_size=${run.test}&val=1&augment=0&backend=${run.backend}&autorun=1`;
    const { page } = await openPage(browser, url);
    await waitForStatus(page, ['ready']);
    const readyMs = Date.now() - started;
    await waitForRun(page, 3_600_000);
    const figure = async (id) => Number(await byTestId(page, id).textContent());
    const base = { date, commit, model: run.model, backend: run.backend, batch: 64, train_images: run.train, test_images: run.test };
    const figures = {
      navigation_to_ready_ms: readyMs,
      train_samples_per_second: await figure('metric-samples-per-second'),
      inference_images_per_second: await figure('metric-inference-images-per-second'),
      test_accuracy: await figure('metric-test-accuracy'),
    };
    for (const [name, value] of Object.entries(figures)) console.log(JSON.stringify({ ...base, figure: name, value }));
    rows.push(`| ${date} | ${commit} | ${run.model} | ${run.backend} | ${run.train} | ${figures.train_samples_per_second} | ${figures.inference_images_per_second} (${run.test} images) | ${figures.navigation_to_ready_ms} | ${figures.test_accuracy} |`);
    await page.close();
  }
  const view = await measureFirstView(browser, `${server.url}?backend=cpu`);
  for (const [name, value] of Object.entries(view)) console.log(JSON.stringify({ date, commit, figure: name, value }));
  rows.push(`| ${date} | ${commit} | first view (navigation to the Train tab's form after a click) | cpu | - | - | - | cold ${view.first_view_cold_ms}, warm ${view.first_view_warm_ms} | - |`);
} finally {
  await browser.close();
  await server.close();
}
appendFileSync(new URL('../BENCHMARKS.md', import.meta.url), `${rows.join('\n')}\n`);
