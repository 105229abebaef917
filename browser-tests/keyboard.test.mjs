// Keyboard only: from the loaded page, Tab reaches the Train tab, the Train button, the test-image gallery
// and one of its images, and Enter operates each, ending on a Grad-CAM explanation. Focus is visible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Presses Tab until the focused element matches `selector`; returns how many presses it took. */
async function tabTo(page, selector, limit = 80) {
  for (let i = 1; i <= limit; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return i;
  }
  throw new Error(`Tab never reached ${selector}`);
}

test('keyboard only: load -> train -> Grad-CAM', async () => {
  // A small CNN run so the test stays short; the settings come from the URL, the actions from the keyboard.
  const { page, errors } = await openPage(browser, `${server.url}?model=cnn&epochs=1&train_size=384&test_size=200&augment=0&backend=cpu`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  await tabTo(page, '[data-testid="tab-train"]');
  await page.keyboard.press('Enter');
  await byTestId(page, 'train-button').waitFor();
  await tabTo(page, '[data-testid="train-button"]:not([disabled])');
  // The focused control shows a visible outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.keyboard.press('Enter');
  assert.equal(await waitForRun(page), 'done');
  await tabTo(page, '[data-testid="browse-test-button"]', 200);
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="gallery-item"]').first().waitFor({ timeout: 30_000 });
  await tabTo(page, '[data-testid="gallery-item"]', 200);
  await page.keyboard.press('Enter');
  await byTestId(page, 'gradcam-overlay').waitFor({ timeout: 60_000 });
  assert.match(await byTestId(page, 'explain').locator('h2').textContent(), /test image #\d+/);
  assert.deepEqual(errors, []);
  await page.close();
});
