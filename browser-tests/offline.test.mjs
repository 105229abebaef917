// The static site offline and contained: the service worker caches the app and the dataset on the first
// visit, a second visit with the network cut loads the data and trains, and no request ever leaves the
// page's origin. The page carries a strict Content-Security-Policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, byTestId, waitForStatus, waitForRun } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('a second visit works with the network off, and no request leaves the origin', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const outside = [];
  context.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(server.url) && !url.startsWith('blob:') && !url.startsWith('data:')) outside.push(url);
  });

  await page.goto(`${server.url}?tab=data&backend=cpu`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /'unsafe-eval'|https?:/);
  // Wait until the service worker is installed (its cache holds every file) and controls the page.
  let cached = null;
  for (let i = 0; i < 240 && !cached; i++) {
    cached = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      if (registration?.active?.state !== 'activated' || !navigator.serviceWorker.controller) return null;
      const names = await caches.keys();
      const cache = await caches.open(names.find((n) => n.startsWith('atelier-')));
      return (await cache.keys()).map((r) => new URL(r.url).pathname);
    });
    if (!cached) await page.waitForTimeout(500);
  }
  assert.ok(cached, 'the service worker never took control');
  assert.ok(cached.some((p) => p.endsWith('.wasm')) && cached.filter((p) => p.endsWith('.gz')).length === 4, cached.join(' '));

  await context.setOffline(true);
  await page.goto(`${server.url}?tab=train&backend=cpu&model=logreg&epochs=1&train_size=1000&test_size=300&autorun=1`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  assert.equal(await waitForRun(page), 'done', await byTestId(page, 'train-progress-text').textContent());
  assert.ok(Number(await byTestId(page, 'metric-test-accuracy').textContent()) > 0.5);
  await context.setOffline(false);
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});
