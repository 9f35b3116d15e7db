// The backends the op tests run on: the f32 CPU backend always (with the wasm kernels, and with the
// TypeScript kernels only), WebGPU when it starts here (else a visible note says why not), and the
// f64 CPU oracle as the reference. One set per test process, disposed by `after` so that worker
// threads and devices do not keep the process alive.
// CROSSLAYER_TEST_WEBGPU=0 skips WebGPU (e.g. while its kernels are in flux).
import { after } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createCpuBackend } from "../../src/backend/cpu/index.js";
import { createBackend } from "../../src/backend/registry.js";

let tested: Promise<Backend[]> | undefined;
let reference: Promise<Backend> | undefined;

// Registered at import time, so the hook belongs to the file's root: an `after` called inside a
// test would belong to that test and dispose the shared backends before later tests run.
const created: Backend[] = [];
after(() => {
  for (const x of created.splice(0)) x.dispose();
});

/** Disposes `b` when the test file ends. */
function disposeAfter<T extends Backend | Backend[]>(b: T): T {
  created.push(...(Array.isArray(b) ? b : [b]));
  return b;
}

async function createTested(): Promise<Backend[]> {
  const backends: Backend[] = [
    await createBackend("cpu", { precision: "f32" }),
    await createCpuBackend({ precision: "f32", wasm: false }), // the TypeScript f32 path
  ];
  if (process.env.CROSSLAYER_TEST_WEBGPU === "0") {
    console.log("# NOTE: WebGPU skipped (CROSSLAYER_TEST_WEBGPU=0): ops tested on cpu only");
  } else {
    try {
      backends.push(await createBackend("webgpu"));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      console.log(`# NOTE: WebGPU backend unavailable, ops tested on cpu only: ${reason}`);
    }
  }
  return disposeAfter(backends);
}

/** cpu f32 (wasm kernels, and TypeScript kernels only), plus webgpu when available. */
export function testBackends(): Promise<Backend[]> {
  tested ??= createTested();
  return tested;
}

/** The cpu f64 oracle. */
export function referenceBackend(): Promise<Backend> {
  reference ??= createBackend("cpu", { precision: "f64" }).then(disposeAfter);
  return reference;
}

/** A label for test names: "cpu (wasm-simd, 2 threads)". */
export function backendLabel(b: Backend): string {
  return `${b.name} (${b.info().detail})`;
}
