// Shared pieces of the browser tests: a static server for dist/ on 127.0.0.1, Chromium with WebGPU on
// SwiftShader, and helpers to read the page.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

// ATELIER_DIST: another build to serve (a benchmark's before and after).
export const DIST = process.env.ATELIER_DIST ? `${process.env.ATELIER_DIST.replace(/\/?$/, '/')}` : new URL('../dist/', import.meta.url).pathname;

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.gz': 'application/gzip',
  '.png': 'image/png', '.webmanifest': 'application/manifest+json',
};

// Bad datasets served under /bad/<case>/<file>: each case breaks one file of the real dataset.
function idx(magic, dims, body) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}
const BAD_CASES = {
  // The labels file replaced by an image header: wrong magic number.
  'wrong-magic': { file: 'train-labels-idx1-ubyte.gz', bytes: () => gzipSync(idx(0x803, [1, 1, 1], Buffer.from([0]))) },
  // The test images cut to their first 1,000 bytes of gzip: a broken gzip stream.
  'bad-gzip': { file: 't10k-images-idx3-ubyte.gz', bytes: (real) => real.subarray(0, 1000) },
  // The test labels announce 10,000 labels but carry 10: truncated.
  'truncated': { file: 't10k-labels-idx1-ubyte.gz', bytes: () => gzipSync(idx(0x801, [10000], Buffer.alloc(10))) },
  // The test labels file is missing: 404.
  'missing': { file: 't10k-labels-idx1-ubyte.gz', bytes: () => null },
};

/** Serves dist/ on 127.0.0.1 (a free port). Records every request path. `rewrite(path, body)` may change
 *  a file on its way out (a test's fault injection). */
export async function startServer({ rewrite } = {}) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    requests.push(path);
    let file = normalize(join(DIST, path.endsWith('/') ? path + 'index.html' : path));
    const bad = path.match(/^\/bad\/([a-z-]+)\/(.+)$/);
    if (bad && BAD_CASES[bad[1]]) {
      const kase = BAD_CASES[bad[1]];
      const real = await readFile(join(DIST, 'data', bad[2]));
      const bytes = bad[2] === kase.file ? kase.bytes(real) : real;
      if (bytes === null) { res.writeHead(404).end('not found'); return; }
      res.writeHead(200, { 'content-type': TYPES['.gz'], 'content-length': bytes.length }).end(bytes);
      return;
    }
    if (!file.startsWith(DIST)) { res.writeHead(403).end(); return; }
    try {
      const info = await stat(file);
      if (info.isDirectory()) file = join(file, 'index.html');
      const read = await readFile(file);
      const body = rewrite ? Buffer.from(rewrite(path, read)) : read;
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise((r) => server.close(r)) };
}

/** Debian's Chromium, headless, with WebGPU on SwiftShader (software) so it works on machines without a GPU. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
      '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      // A camera for the camera test: Chromium's moving test pattern, allowed without a prompt.
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    ],
  });
}

/** Opens a page and collects console errors and uncaught exceptions. */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

/** Waits until `dataset-status` reads one of `values`; returns it. */
export async function waitForStatus(page, values, timeout = 240_000) {
  await page.waitForFunction(
    (vals) => vals.includes(document.querySelector('[data-testid="dataset-status"]')?.textContent),
    values, { timeout, polling: 250 });
  return byTestId(page, 'dataset-status').textContent();
}

/** Waits until `run-status` reads done, stopped or failed; returns it. */
export async function waitForRun(page, timeout = 300_000) {
  await page.waitForFunction(
    () => ['done', 'stopped', 'failed'].includes(document.querySelector('[data-testid="run-status"]')?.textContent),
    null, { timeout, polling: 500 });
  return byTestId(page, 'run-status').textContent();
}

/** Counts the canvas's pixels that differ from its top-left pixel (the background) and distinct colours. */
export async function canvasInk(page, testid) {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0; const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) ink++;
      if (colours.size < 5000) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    return { ink, colours: colours.size, width: c.width, height: c.height };
  }, testid);
}

/** A PNG made in the page: a dark T-shirt shape on white, 120 x 100, as a file for `setInputFiles`. */
export async function shirtPng(page, name) {
  const png = await page.evaluate(() => {
    const c = document.createElement('canvas'); c.width = 120; c.height = 100;
    const g = c.getContext('2d'); g.fillStyle = '#fafafa'; g.fillRect(0, 0, 120, 100);
    g.fillStyle = '#202020'; g.fillRect(35, 20, 50, 70); g.fillRect(15, 20, 90, 18);
    return c.toDataURL('image/png').split(',')[1];
  });
  return { name, mimeType: 'image/png', buffer: Buffer.from(png, 'base64') };
}
