// Not a test: the README's picture. Serves dist/, trains a small CNN with autorun in headless Chromium
// (CPU backend) and saves the Train tab at 1280 px as docs/screenshot.png.
// Usage: make dist && node scripts/screenshot.mjs
import { startServer, launch, waitForStatus, waitForRun } from '../browser-tests/harness.mjs';

const server = await startServer();
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  await page.goto(`${server.url}?tab=train&model=cnn&epochs=2&train_size=3000&test_size=2000&augment=0&backend=cpu&autorun=1`);
  await waitForStatus(page, ['ready']);
  await waitForRun(page, 900_000);
  await page.waitForTimeout(500);
  await page.screenshot({ path: new URL('../docs/screenshot.png', import.meta.url).pathname, fullPage: false });
  console.log('docs/screenshot.png written');
} finally {
  await browser.close();
  await server.close();
}
