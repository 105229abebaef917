// Trunk post-build hook (Trunk.toml): runs in the staging folder before it becomes dist/.
// 1. Writes the build's version (a hash of every file) and file list into the service worker.
// 2. Adds a strict Content-Security-Policy to index.html, allowing its inline module script by hash.
// Under `trunk serve` (its live-reload script is filled in per request, so no hash can match) neither is
// done: the page gets no CSP and the service worker removes itself, so development never sees stale files.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this from Trunk');

const files = [];
const walk = (d) => {
  for (const name of readdirSync(d).sort()) {
    const path = join(d, name);
    if (statSync(path).isDirectory()) walk(path);
    else files.push(relative(dir, path).split('\\').join('/'));
  }
};
walk(dir);

const indexPath = join(dir, 'index.html');
let html = readFileSync(indexPath, 'utf8');
const swPath = join(dir, 'sw.js');
if (html.includes('{{__TRUNK_ADDRESS__}}')) {
  writeFileSync(swPath, `// Development build (trunk serve): no offline cache; this worker removes itself.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil((async () => {
  for (const key of await caches.keys()) if (key.startsWith('atelier-')) await caches.delete(key);
  await self.registration.unregister();
})()));
`);
  console.log('post-build: trunk serve build: no CSP, no offline cache');
  process.exit(0);
}
const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
  .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
const csp = [
  "default-src 'self'",
  `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`.trim(),
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  // Yew and plotters set positions and sizes through style attributes.
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');
html = html.replace('<meta charset="utf-8">', `<meta charset="utf-8">\n  <meta http-equiv="Content-Security-Policy" content="${csp}">`);
writeFileSync(indexPath, html);

const version = createHash('sha256');
for (const f of files.filter((f) => f !== 'sw.js')) version.update(f).update(readFileSync(join(dir, f)));
const sw = readFileSync(swPath, 'utf8')
  .replace('__ATELIER_VERSION__', version.digest('hex').slice(0, 16))
  .replace('/* __ATELIER_FILES__ */', files.filter((f) => f !== 'sw.js' && f !== 'index.html').map((f) => `, './${f}'`).join(''));
writeFileSync(swPath, sw);
console.log(`post-build: CSP with ${hashes.length} inline script hash(es); service worker caches ${files.length} files`);
