// TensorFlow.js beside Atelier (not a test): the reference CNN's inference speed with TF.js's wasm backend
// in the same headless Chromium, for issue #22's comparison. The reference CNN's shape (conv 1->32 3x3,
// conv 32->64 3x3, ReLU, 2x2 max pool, dense 9216->128, dense 128->10, softmax; random weights: speed
// does not depend on them) scores 10,000 images of 28x28 in batches of 256, after a warm-up, at each
// thread count (the threaded wasm build needs cross-origin isolation, which this server's headers give).
// TF.js is installed outside the repository on first use (`npm install` into ~/.cache/atelier/tfjs).
// Usage: node scripts/tfjs-bench.mjs [thread counts, comma-separated (default 1,2)] [images (10000)]
// (TFJS_DEBUG=1 prints the page's console.) TF.js 4.22 reports 1 thread whatever is asked (its issue #8513).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join, extname } from 'node:path';
import { launch } from '../browser-tests/harness.mjs';

const VERSION = '4.22.0';
const [threadList = '1,2', imagesArg = '10000'] = process.argv.slice(2);
const home = join(homedir(), '.cache', 'atelier', 'tfjs');
const modules = join(home, 'node_modules', '@tensorflow');
if (!existsSync(join(modules, 'tfjs-backend-wasm', 'dist', 'tfjs-backend-wasm-threaded-simd.wasm'))) {
  execFileSync('npm', ['install', '--prefix', home, `@tensorflow/tfjs@${VERSION}`,
    `@tensorflow/tfjs-backend-wasm@${VERSION}`], { stdio: 'inherit' });
}
const files = {
  '/tf.min.js': join(modules, 'tfjs', 'dist', 'tf.min.js'),
  '/tf-backend-wasm.min.js': join(modules, 'tfjs-backend-wasm', 'dist', 'tf-backend-wasm.min.js'),
};
for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  files[`/${name}`] = join(modules, 'tfjs-backend-wasm', 'dist', name);
}
const page = `<!doctype html><script src="/tf.min.js"></script><script src="/tf-backend-wasm.min.js"></script>
<script>
async function run(threads, images) {
  tf.wasm.setWasmPaths('/');
  tf.wasm.setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 128, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  const x = tf.randomUniform([images, 28, 28, 1]);
  const warm = model.predict(x.slice(0, 256), { batchSize: 256 });
  await warm.data();
  warm.dispose();
  const start = performance.now();
  const y = model.predict(x, { batchSize: 256 });
  await y.data();
  const seconds = (performance.now() - start) / 1000;
  y.dispose(); x.dispose(); model.dispose();
  return { backend: tf.getBackend(), threads: tf.wasm.getThreadsCount(), isolated: crossOriginIsolated,
    multithread: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'), simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    images, seconds, images_per_second: Math.round(images / seconds) };
}
</script>`;
const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  if (path === '/') {
    res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(page);
    return;
  }
  if (!files[path]) { res.writeHead(404).end(); return; }
  const body = await readFile(files[path]);
  const type = extname(path) === '.wasm' ? 'application/wasm' : 'text/javascript';
  res.writeHead(200, { ...headers, 'content-type': type }).end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await launch();
try {
  for (const threads of threadList.split(',').map(Number)) {
    const tab = await browser.newPage();
    if (process.env.TFJS_DEBUG) tab.on('console', (m) => console.error('console:', m.text()));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    const result = await tab.evaluate(([t, n]) => run(t, n), [threads, Number(imagesArg)]);
    console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), tfjs: VERSION, ...result }));
    await tab.close();
  }
} finally {
  await browser.close();
  server.close();
}
