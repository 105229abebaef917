// The study as a document, in a real Chromium: two models trained with autorun, an explanation pinned, the
// report written as HTML and as a Markdown zip; the HTML opened again with the network cut, every section
// and figure there, the accuracies the page's, nothing requested, printable to PDF; `report=1` writes it
// unasked after a reload (the models come back from storage).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, openPage, byTestId, waitForStatus, waitForRun, shirtPng } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const SECTIONS = ['data', 'methods', 'results', 'explanations', 'errors', 'conclusions', 'limitations'];

async function runTo(page, query) {
  await page.goto(`${server.url}?tab=train&backend=cpu&test_size=500&autorun=1&workers=2&${query}`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  assert.equal(await waitForRun(page), 'done', await byTestId(page, 'train-progress-text').textContent());
}

async function download(page, click, timeout = 120_000) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout }), click()]);
  return { name: file.suggestedFilename(), path: await file.path() };
}

test('the report holds every section and figure, matches the page, needs no network and prints', async () => {
  const { page, errors } = await openPage(browser, `${server.url}?tab=compare&backend=cpu`);
  assert.equal(await waitForStatus(page, ['ready', 'error']), 'ready');
  // No model yet: the action says what to do.
  await byTestId(page, 'report-button').click();
  assert.match(await byTestId(page, 'report-status').textContent(), /^No model yet: train one/);

  await runTo(page, 'model=logreg&epochs=2&train_size=2000');
  await runTo(page, 'model=cnn&epochs=2&train_size=2000&augment=0');
  // Pin a Grad-CAM explanation of a test image.
  await byTestId(page, 'browse-test-button').click();
  await page.locator('[data-testid="gallery-item"]').first().click();
  await byTestId(page, 'gradcam-overlay').waitFor({ timeout: 60_000 });
  const pinned = (await byTestId(page, 'explain').locator('h2').textContent()).match(/test image #(\d+)/)[1];
  await byTestId(page, 'pin-to-report').click();
  assert.equal(await byTestId(page, 'pin-to-report').getAttribute('aria-pressed'), 'true');

  // The user's own image is classified on the Predict tab but stays out of the report until ticked in.
  await byTestId(page, 'tab-predict').click();
  const mine = await shirtPng(page, 'my-shirt.png');
  await byTestId(page, 'upload-input').setInputFiles(mine);
  await byTestId(page, 'pin-prediction').waitFor({ timeout: 60_000 });
  assert.equal(await byTestId(page, 'pin-prediction').isChecked(), false);

  await byTestId(page, 'tab-compare').click();
  const rows = await byTestId(page, 'comparison-table').locator('tbody tr').evaluateAll((trs) =>
    trs.map((r) => [r.querySelector('th').textContent, r.querySelector('[data-testid="row-accuracy"]').textContent]));
  assert.equal(rows.length, 2);
  const started = Date.now();
  const html = await download(page, () => byTestId(page, 'report-button').click());
  const writeMs = Date.now() - started;
  assert.match(html.name, /^atelier-report-\d{4}-\d{2}-\d{2}\.html$/);
  assert.match(await byTestId(page, 'report-status').textContent(), /^Report saved as atelier-report-.*\.html \([0-9.]+ MB\): 2 models, \d+ figures\.$/);
  const bytes = (await readFile(html.path)).length;
  assert.ok(bytes < 10e6, `${bytes} bytes`);

  // The Markdown export: report.md and every figure it names, as PNG, in a zip Python's zipfile reads; the
  // user's image ticked in first, so this one holds it.
  await byTestId(page, 'tab-predict').click();
  await byTestId(page, 'upload-input').setInputFiles(mine);
  await byTestId(page, 'pin-prediction').check({ timeout: 60_000 });
  await byTestId(page, 'tab-compare').click();
  const md = await download(page, () => byTestId(page, 'report-markdown-button').click());
  assert.match(md.name, /\.zip$/);
  const listing = JSON.parse(execFileSync('python3', ['-c', `
import json, re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
text = z.read('report.md').decode()
names = z.namelist()
pngs = [n for n in names if n.endswith('.png')]
print(json.dumps({'names': names, 'pngs': len(pngs), 'yours': 'Your image \\"my-shirt.png\\"' in text, 'all_png': all(z.read(n)[:8] == b'\\x89PNG\\r\\n\\x1a\\n' for n in names if n != 'report.md'),
  'referenced': all(('](' + n + ')') in text for n in names if n != 'report.md'), 'sections': len(re.findall('^## ', text, re.M))}))
`, md.path]).toString());
  assert.ok(listing.pngs >= 10, JSON.stringify(listing));
  assert.ok(listing.all_png && listing.referenced, JSON.stringify(listing));
  assert.equal(listing.sections, SECTIONS.length);
  assert.ok(listing.yours, 'the ticked-in image is in the Markdown report');

  // The HTML file alone, with the network cut: every request is recorded and refused.
  const context = await browser.newContext({ offline: true });
  const requests = [];
  await context.route('**/*', (route) => {
    if (!route.request().url().startsWith('file:') && !route.request().url().startsWith('data:')) requests.push(route.request().url());
    route.continue();
  });
  const reader = await context.newPage();
  reader.on('request', (r) => { if (!/^(file|data):/.test(r.url())) requests.push(r.url()); });
  const copy = join(await mkdtemp(join(tmpdir(), 'atelier-report-')), 'report.html');
  await writeFile(copy, await readFile(html.path));
  await reader.goto(`file://${copy}`);
  const found = await reader.evaluate(() => ({
    sections: [...document.querySelectorAll('section[data-section]')].map((s) => s.dataset.section),
    scripts: document.querySelectorAll('script').length,
    images: [...document.images].map((i) => ({ ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0, alt: i.alt })),
    tables: [...document.querySelectorAll('table')].map((t) => [...t.querySelectorAll('tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))),
    text: document.body.textContent,
  }));
  assert.deepEqual(found.sections, SECTIONS);
  assert.equal(found.scripts, 0);
  assert.ok(found.images.length >= 10, `${found.images.length} figures`);
  const broken = found.images.filter((i) => !i.ok).map((i) => i.alt);
  assert.deepEqual(broken, [], 'every figure decodes');
  // The comparison table (the third table) shows each model with the page's accuracy.
  const comparison = found.tables.find((t) => t.length === 2 && t.every((r) => /^0\.\d{4}$/.test(r[1])));
  assert.ok(comparison, JSON.stringify(found.tables.map((t) => t[0])));
  for (const [name, accuracy] of rows) {
    assert.ok(comparison.some((r) => r[0] === name && r[1] === accuracy), `${name} ${accuracy} in ${JSON.stringify(comparison)}`);
  }
  assert.match(found.text, /Grad-CAM \(Selvaraju et al\., 2017\) of the most confident mistakes of CNN #/);
  assert.match(found.text, new RegExp(`Images pinned while exploring[^]*Test image #${pinned} by CNN`));
  assert.match(found.text, /(is the most accurate model|are level within the uncertainty)/);
  assert.ok(!found.text.includes('my-shirt.png'), 'an image the user did not tick stays out');
  assert.match(found.text, /© Zalando SE, released under the MIT licence/);
  assert.deepEqual(requests, [], 'the report asks for nothing');
  const pdf = await reader.pdf({ format: 'A4' });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.ok(pdf.subarray(0, 5).toString() === '%PDF-' && pages >= 4, `${pages} PDF pages`);
  await context.close();

  // `report=1` on a reload: the saved models come back and the report is written unasked.
  const again = await download(page, () => page.goto(`${server.url}?tab=compare&backend=cpu&report=1`), 180_000);
  assert.match(again.name, /\.html$/);
  const text = await readFile(again.path, 'utf8');
  for (const [name] of rows) assert.ok(text.includes(name.replace('&', '&amp;')), name);
  assert.deepEqual(errors, []);
  console.log(`# report: written in ${writeMs} ms (click to download, with 6 Grad-CAM passes); ${bytes} bytes of HTML, ${found.images.length} figures, ${pages} PDF pages; markdown zip with ${listing.pngs} PNG files`);
  await page.close();
});
