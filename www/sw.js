// Atelier's service worker: the app shell, the wasm and the dataset are cached on the first visit, so
// the next visit works with the network off. The build hook (scripts/post-build.mjs) writes the build's
// version and file list below; a new build means a new cache, and the old ones are deleted once the new
// version takes over (the page offers a reload when one is waiting).
const VERSION = '__ATELIER_VERSION__';
const FILES = ['./', './index.html' /* __ATELIER_FILES__ */];
const CACHE = `atelier-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('atelier-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The page's address carries its settings in the query; every navigation is the one index.html.
    const cached = request.mode === 'navigate'
      ? await cache.match('./index.html')
      : await cache.match(request, { ignoreSearch: false });
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') cache.put(request, response.clone());
    return response;
  })());
});
