// What a worker's yields and messages cost in this Chromium (not a test): a yield by zero-delay timeout
// (nested, as in a training loop) against one by a message to itself, and a 4.7 MB Float32Array (the
// reference CNN's gradients) cloned there and back, a new one made from wasm memory, and an existing one
// refilled. Prints one JSON line of milliseconds. Usage: node scripts/message-costs.mjs
import { startServer, launch } from '../browser-tests/harness.mjs';

const server = await startServer();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}missing`);
  const result = await page.evaluate(async () => {
    const source = `
      const timeout = () => new Promise((r) => setTimeout(r, 0));
      const channel = new MessageChannel();
      let waiting = null;
      channel.port1.onmessage = () => { const r = waiting; waiting = null; r(); };
      const message = () => new Promise((r) => { waiting = r; channel.port2.postMessage(0); });
      const per = async (n, f) => { const t = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t) / n; };
      const time = (n, f) => { const t = performance.now(); for (let i = 0; i < n; i++) f(); return (performance.now() - t) / n; };
      onmessage = async (e) => {
        if (e.data !== 'go') { postMessage(e.data); return; }
        const memory = new WebAssembly.Memory({ initial: 200 });
        const view = new Float32Array(memory.buffer, 1024, 1180000);
        const kept = new Float32Array(view.length);
        postMessage({
          yield_by_timeout: await per(200, timeout),
          yield_by_message: await per(200, message),
          new_array_from_wasm: time(50, () => new Float32Array(view)),
          refill_existing_array: time(50, () => kept.set(view)),
        });
      };`;
    const worker = new Worker(URL.createObjectURL(new Blob([source])));
    const ask = (data) => new Promise((r) => { worker.onmessage = (e) => r(e.data); worker.postMessage(data); });
    const out = await ask('go');
    const gradients = new Float32Array(1180000);
    const start = performance.now();
    for (let i = 0; i < 20; i++) await ask(gradients);
    out.clone_there_and_back = (performance.now() - start) / 20;
    return out;
  });
  console.log(JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Number(v.toFixed(3))]))));
} finally {
  await browser.close();
  await server.close();
}
