// The browser path of device acquisition: with a WebGPU implementation installed as
// navigator.gpu (here Dawn itself, in a child process so no global leaks), the backend takes its
// adapter from navigator.gpu (core first, then the compatibility feature level, which is what an
// OpenGL ES-class GPU offers) and runs ops. This checks our navigator code path, not a browser.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

test("a WebGPU implementation installed as navigator.gpu is used, and ops run on it", () => {
  const backend = new URL("../../src/backend/webgpu/index.js", import.meta.url).href;
  const probe = new URL("../../src/backend/webgpu/vulkan-probe.js", import.meta.url).href;
  const script = `
process.env.EGL_PLATFORM ??= "surfaceless";
const { create, globals } = await import("webgpu");
const { vulkanLoaderPresent } = await import(${JSON.stringify(probe)});
Object.assign(globalThis, globals);
const gpu = create(vulkanLoaderPresent() ? [] : ["backend=opengles"]);
Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true });
const { createWebGpuBackend } = await import(${JSON.stringify(backend)});
const be = await createWebGpuBackend();
const t = (data) => {
  const x = { buffer: be.createBuffer(data.length, "f32"), offset: 0, shape: [data.length], dtype: "f32" };
  be.write(x, Float32Array.from(data));
  return x;
};
const a = t([1, 2, 3, 4.5]);
const b = t([10, 20, 30, 40]);
const out = t([0, 0, 0, 0]);
be.add(out, a, b);
const sum = Array.from(await be.read(out));
const info = be.info();
be.dispose();
process.stdout.write(JSON.stringify({ detail: info.detail, device: info.device, sum }));
process.exit(0);`;
  const out = execFileSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", script], {
    cwd: new URL("../..", import.meta.url),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const r = JSON.parse(out) as { detail: string; device: string; sum: number[] };
  assert.equal(r.detail, "navigator.gpu");
  assert.ok(r.device.length > 0);
  assert.deepEqual(r.sum, [11, 22, 33, 44.5]);
});
