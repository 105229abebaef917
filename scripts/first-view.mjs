// Time to a usable first view (not a test): from navigation until the page answers a click (the Train tab
// shows its form), on a warm cache (the second visit, served by the service worker), and on a cold one.
// Usage: node scripts/first-view.mjs  (prints one JSON line per figure; `make bench` runs it too).
import { fileURLToPath } from 'node:url';
import { startServer, launch, byTestId } from '../browser-tests/harness.mjs';

/** Milliseconds from navigation to the Train tab's form drawn after a click on its tab. */
async function firstView(context, url) {
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(url);
  await byTestId(page, 'tab-train').click();
  await byTestId(page, 'train-button').waitFor();
  const ms = Date.now() - started;
  await page.close();
  return ms;
}

/** Cold (fresh profile) and warm (second and later visits, service worker in control) first views. */
export async function measureFirstView(browser, url) {
  const context = await browser.newContext();
  const cold = await firstView(context, url);
  // Let the service worker finish caching the app (and the dataset) before the warm visits.
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 120_000 });
  await page.close();
  const warm = [];
  for (let i = 0; i < 3; i++) warm.push(await firstView(context, url));
  await context.close();
  warm.sort((a, b) => a - b);
  return { first_view_cold_ms: cold, first_view_warm_ms: warm[1] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startServer();
  const browser = await launch();
  try {
    const figures = await measureFirstView(browser, `${server.url}?backend=cpu`);
    const date = new Date().toISOString().slice(0, 10);
    for (const [figure, value] of Object.entries(figures)) console.log(JSON.stringify({ date, figure, value }));
  } finally {
    await browser.close();
    await server.close();
  }
}
