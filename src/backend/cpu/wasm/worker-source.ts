// Source of one kernel worker, as a string so that it loads the same way from src (tsx), from
// dist and, later, from a Blob URL in browsers: it instantiates the shared module on the shared
// memory, then sleeps on the control block and runs its share of each job it manages to join
// (a late worker finds the job closed and skips it). No per-job messages.
// Control block (Int32Array over a SharedArrayBuffer): see CTL_* in pool.ts; args in a Float64Array.

/** The part common to every host: `start(data, ready)` runs forever (until the stop flag). */
const CORE = `
function start(data, ready) {
  const { module, memory, ctlBuffer, argBuffer, scratch, spinMs, fns } = data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const ex = instance.exports;
  const ctl = new Int32Array(ctlBuffer);
  const args = new Float64Array(argBuffer);
  ready();
  let seen = 0;
  for (;;) {
    let gen = Atomics.load(ctl, 0);
    // spin for about spinMs (checking the clock every 256 loads) before sleeping in the kernel
    const until = performance.now() + spinMs;
    for (let i = 1; gen === seen; i++) {
      gen = Atomics.load(ctl, 0);
      if ((i & 255) === 0 && performance.now() > until) break;
    }
    while (gen === seen) {
      Atomics.wait(ctl, 0, seen);
      gen = Atomics.load(ctl, 0);
    }
    seen = gen;
    if (Atomics.load(ctl, 2) !== 0) return;
    // join the job unless the caller already closed it (it ran every item without us)
    let v = Atomics.load(ctl, 6);
    let joined = false;
    while ((v & 0x40000000) === 0) {
      const prev = Atomics.compareExchange(ctl, 6, v, v + 1);
      if (prev === v) {
        joined = true;
        break;
      }
      v = prev;
    }
    if (!joined) continue;
    try {
      const n = Atomics.load(ctl, 4);
      const a = new Array(n + 1);
      for (let i = 0; i < n; i++) a[i] = args[i];
      a[n] = scratch;
      ex[fns[Atomics.load(ctl, 3)]](...a);
    } catch (e) {
      Atomics.store(ctl, 5, 1);
    }
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}
`;

/** Node (worker_threads, eval mode; dynamic import works whether eval runs as CommonJS or ESM). */
export const NODE_WORKER_SOURCE = `${CORE}
import("node:worker_threads").then(({ workerData, parentPort }) => {
  start(workerData, () => parentPort.postMessage("ready"));
});
`;

/** Web Worker: the data arrives in the first message. Not used yet (see pool.ts). */
export const WEB_WORKER_SOURCE = `${CORE}
self.onmessage = (e) => { self.onmessage = null; start(e.data, () => self.postMessage("ready")); };
`;
