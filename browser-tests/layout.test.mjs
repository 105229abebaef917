// Layout and colours in a real Chromium: every tab fits a 360 px phone without sideways scrolling, every
// piece of text meets WCAG AA contrast against what is behind it, in the light and the dark theme, and the
// dark theme follows the system setting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, byTestId, waitForStatus, waitForRun } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const TABS = ['data', 'train', 'compare', 'predict'];
/** The charts each tab draws once a model is trained. */
const CHARTS = {
  data: ['class-balance-chart', 'pixel-histogram'],
  train: ['loss-chart', 'accuracy-chart'],
  compare: ['compare-accuracy-chart', 'compare-time-chart'],
  predict: [],
};

/** Text whose contrast with its background is under WCAG AA (4.5:1, or 3:1 for large text), and the
 *  elements wider than the viewport. Runs in the page. */
function audit() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  // The colour behind an element: its own and its ancestors' backgrounds, composed over white.
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg.a > 0) layers.push(bg);
      if (bg && bg.a === 1) break;
    }
    return layers.reverse().reduce((acc, layer) => over(layer, acc), { r: 255, g: 255, b: 255, a: 1 });
  };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('canvas, svg, option, [hidden]')) continue;
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const disabled = el.closest(':disabled') !== null; // WCAG exempts inactive controls.
    if (!disabled && ratio < (large ? 3 : 4.5)) {
      failures.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${el.textContent.trim().slice(0, 40)}": ${ratio.toFixed(2)}`);
    }
  }
  // What sticks out past the viewport without a scrolling box of its own around it.
  const inScrollBox = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !inScrollBox(el))
    .map((el) => `${el.tagName.toLowerCase()}.${el.className}${el.dataset.testid ? `[${el.dataset.testid}]` : ''}`)
    .slice(0, 10);
  return {
    failures,
    wide,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    bodyLuminance: luminance(background(document.body)),
  };
}

for (const scheme of ['light', 'dark']) {
  test(`${scheme} theme: each tab fits 360 px and 1280 px, and all text meets AA contrast`, async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 780 }, colorScheme: scheme });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}?tab=train&backend=cpu&model=logreg&epochs=1&train_size=500&test_size=200&autorun=1`);
    assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
    // A trained model fills the tables, the charts and the comparison.
    assert.equal(await waitForRun(page), 'done');
    await byTestId(page, 'tab-compare').click();
    assert.equal(await page.locator('.compare-tab h2').first().textContent(), '1 model');
    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: 780 });
      for (const tab of TABS) {
        await byTestId(page, `tab-${tab}`).click();
        // Wait for the tab's charts to be drawn (a canvas is 0 x 0 or blank until then), not a fixed time.
        const charts = CHARTS[tab];
        await page.waitForFunction((ids) => ids.every((id) => {
          const c = document.querySelector(`canvas[data-testid="${id}"]`);
          return c && c.width > 0 && c.getContext('2d').getImageData(1, 1, 1, 1).data[3] === 255;
        }), charts, { timeout: 30_000 });
        // The charts take the theme's background, as the panels around them do.
        for (const id of charts) {
          const corner = await page.evaluate((id) => {
            const [r, g, b] = document.querySelector(`canvas[data-testid="${id}"]`).getContext('2d').getImageData(1, 1, 1, 1).data;
            return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
          }, id);
          if (scheme === 'dark') assert.ok(corner < 0.2, `${scheme} ${tab}: ${id}'s background is light (${corner.toFixed(2)})`);
          else assert.ok(corner > 0.8, `${scheme} ${tab}: ${id}'s background is dark (${corner.toFixed(2)})`);
        }
        const result = await page.evaluate(audit);
        assert.ok(result.scrollWidth <= result.innerWidth,
          `${scheme} ${width}px ${tab}: the page scrolls sideways (${result.scrollWidth} > ${result.innerWidth}): ${result.wide.join(', ')}`);
        assert.deepEqual(result.failures, [], `${scheme} ${width}px ${tab}: low contrast`);
        if (scheme === 'dark') assert.ok(result.bodyLuminance < 0.05, `dark theme background luminance ${result.bodyLuminance}`);
        else assert.ok(result.bodyLuminance > 0.8, `light theme background luminance ${result.bodyLuminance}`);
      }
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}
