// vulkanLoaderPresent: finds libvulkan.so.1 in LD_LIBRARY_PATH, in the given dirs or named in the
// ld.so cache; says absent only on Linux when none has it and the cache was read; says present
// whenever unsure (other platforms, unreadable cache). Fake dirs and cache files in a temp dir.
// The auto backend skips WebGPU where no Vulkan loader is found (no OpenGL ES probe, no Dawn warnings).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createDefaultBackend } from "../../src/backend/registry.js";
import { vulkanLoaderPresent } from "../../src/backend/webgpu/vulkan-probe.js";

const root = mkdtempSync(join(tmpdir(), "vkprobe-"));
const empty = join(root, "empty");
const withLib = join(root, "lib");
mkdirSync(empty);
mkdirSync(withLib);
writeFileSync(join(withLib, "libvulkan.so.1"), "");
const cacheWithout = join(root, "cache-without");
const cacheWith = join(root, "cache-with");
writeFileSync(cacheWithout, "glibc-ld.so.cache1.1\0libEGL.so.1\0/usr/lib/libEGL.so.1\0");
writeFileSync(cacheWith, "glibc-ld.so.cache1.1\0libvulkan.so.1\0/usr/lib/x86_64-linux-gnu/libvulkan.so.1\0");

const base = { platform: "linux", ldLibraryPath: "", dirs: [empty], cachePath: cacheWithout };

test("vulkanLoaderPresent: absent only when no dir and no readable cache entry has it", () => {
  assert.equal(vulkanLoaderPresent(base), false);
  assert.equal(vulkanLoaderPresent({ ...base, ldLibraryPath: `/nonexistent:${withLib}` }), true);
  assert.equal(vulkanLoaderPresent({ ...base, dirs: [empty, withLib] }), true);
  assert.equal(vulkanLoaderPresent({ ...base, cachePath: cacheWith }), true);
  assert.equal(vulkanLoaderPresent({ ...base, cachePath: join(root, "missing") }), true);
  assert.equal(vulkanLoaderPresent({ ...base, platform: "darwin" }), true);
});

test("auto backend without a Vulkan loader: the CPU at once, with the CPU options kept", async () => {
  const be = await createDefaultBackend({ threads: 1 }, { vulkanLoader: () => false });
  try {
    assert.equal(be.name, "cpu");
    assert.match(be.info().detail, /\b1 thread/, "--threads reaches the CPU backend");
  } finally {
    be.dispose();
  }
});
