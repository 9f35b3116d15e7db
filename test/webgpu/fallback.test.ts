// Device acquisition needs no environment variables: a child process with EGL_PLATFORM removed
// still gets a WebGPU backend (a real GPU's adapter, else llvmpipe through OpenGL ES by itself).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

test("createWebGpuBackend works with a clean environment (no EGL_PLATFORM)", () => {
  const env = { ...process.env };
  delete env.EGL_PLATFORM;
  const url = new URL("../../src/backend/webgpu/index.js", import.meta.url).href;
  const script = `const { createWebGpuBackend } = await import(${JSON.stringify(url)});
const be = await createWebGpuBackend();
const i = be.info();
be.dispose();
process.stdout.write(JSON.stringify({ device: i.device, detail: i.detail }));`;
  const out = execFileSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", script], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const info = JSON.parse(out) as { device: string; detail: string };
  assert.ok(info.device.length > 0);
  assert.match(info.detail, /^(vulkan|metal|d3d12|opengles \(.+\))$/);
});
