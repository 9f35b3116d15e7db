// The GPU profiler (Runtime.startProfiling: one timed pass per dispatch), the GPU timer (whole
// passes timed) and what `bench decode --profile` and `bench step --profile` print from them.
// llvmpipe has no timestamp-query, so there the tests check the clear refusal; on a GPU with the
// feature they check the timings themselves.
import assert from "node:assert/strict";
import { test } from "node:test";
import { view } from "../../src/backend/tensor.js";
import { dispatchLabel, summarizeKernelTimes } from "../../src/backend/webgpu/profiler.js";
import type { WebGpuBackend } from "../../src/backend/webgpu/webgpu-backend.js";
import { copyBandwidth, type DecodeProfileRow } from "../../src/bench/decode-profile.js";
import { canProfile } from "../../src/bench/kernel-profile.js";
import type { DecodeRow } from "../../src/bench/decode-bench.js";
import { decodeTable, profileTable } from "../../src/bench/decode-table.js";
import { spinUp } from "../../src/bench/gpu-spin.js";
import { profileStep } from "../../src/bench/step-profile.js";
import { BackendError, ConfigError } from "../../src/errors.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";

test("dispatch labels: kernel file, entry point, mode switches; no helpers, variants or dtypes", () => {
  assert.equal(dispatchLabel("fill"), "fill");
  assert.equal(dispatchLabel("elementwise:x4"), "elementwise");
  assert.equal(dispatchLabel("matmul_tiled:128x128x4:8x8:000:f32"), "matmul_tiled");
  assert.equal(
    dispatchLabel("paged_gemv+paged_rope+paged_pool_store+paged_qkv_append", "qkv_append", {
      ACCUM: 0,
      NORM: 1,
      SWIGLU: 0,
      QKV: 1,
      DT_POOL: 1,
    }),
    "paged_gemv.qkv_append[NORM,QKV]",
  );
  assert.equal(
    dispatchLabel("paged_attention_vec+paged_rows", "main", { HD: 64, GQ: 1, ROPE: 1 }),
    "paged_attention_vec[GQ,ROPE]",
  );
});

test("kernel times sum per label, largest total first (ties by name)", () => {
  const rows = summarizeKernelTimes([
    ["a", 1],
    ["b", 0.5],
    ["a", 2],
    ["c", 3],
    ["b", 2.5],
  ]);
  assert.deepEqual(rows, [
    { kernel: "a", dispatches: 2, ms: 3 },
    { kernel: "b", dispatches: 2, ms: 3 },
    { kernel: "c", dispatches: 1, ms: 3 },
  ]);
});

test("profile table: per-step microseconds, shares of the kernels' sum, KV bandwidth of the attention", () => {
  const row: DecodeProfileRow = {
    bench: "decode-profile",
    backend: "webgpu",
    device: "gpu",
    config: "small-H64-MQA",
    batch: 128,
    context: 4096,
    steps: 8,
    gpuMsPerStep: 2,
    kvReadBytes: 1e9,
    untimed: 0,
    kernels: [
      { kernel: "paged_attention_vec.partials[ROPE]", dispatchesPerStep: 8, msPerStep: 1.5 },
      { kernel: "paged_gemv[NORM]", dispatchesPerStep: 16, msPerStep: 0.5 },
    ],
  };
  const lines = profileTable(row);
  assert.match(lines[0]!, /small-H64-MQA batch 128 context 4096 .*kernels sum 2000\.0 us\/step/);
  const attn = lines.find((l) => l.startsWith("paged_attention_vec"))!;
  // 1 GB in 1.5 ms = 667 GB/s; 75% of the 2 ms
  assert.match(attn, /\b8\s+1500\.0\s+75\.0%\s+667$/);
  const gemv = lines.find((l) => l.startsWith("paged_gemv"))!;
  assert.match(gemv, /\b16\s+500\.0\s+25\.0%\s*$/);
});

test("the decode table adds a gpu ms column only when a row was timed on the GPU", () => {
  const row = {
    bench: "decode",
    backend: "webgpu",
    device: "gpu",
    config: "small-H64-MQA",
    batch: 1,
    context: 512,
    kvDtype: "f16",
    steps: 64,
    stepMs: 0.5,
    tokensPerSecond: 2000,
    bytesPerStep: 1.2e8,
    kvReadBytes: 1e6,
    gbps: 240,
    copyGbps: 2400,
    copyMethod: "gpu-timestamps",
    readback: "argmax",
    pipelined: true,
  } as DecodeRow;
  const plain = decodeTable([row]);
  assert.ok(!plain[0]!.includes("gpu ms"));
  const timed = decodeTable([
    { ...row, gpuMs: 0.4321 },
    { ...row, batch: 16 },
  ]);
  assert.match(timed[0]!, /gpu ms$/);
  assert.match(timed[1]!, /\b0\.432$/);
  assert.match(timed[2]!, /-$/); // a row without timings in a timed table
});

test("spinUp keeps a webgpu device busy for the time asked (copies), and is a no-op on the cpu backend", async (t) => {
  const cpu = await referenceBackend();
  let t0 = performance.now();
  await spinUp(cpu, 5);
  assert.ok(performance.now() - t0 < 1000, "the cpu backend does not spin");
  const be = (await testBackends()).find((b) => b.name === "webgpu") as WebGpuBackend | undefined;
  if (!be) return t.skip("no WebGPU backend here");
  const before = be.rt.stats.dispatches;
  t0 = performance.now();
  await spinUp(be, 0.05);
  assert.ok(performance.now() - t0 >= 50, "spun for at least the time asked");
  assert.ok(be.rt.stats.dispatches - before >= 16, "it ran copies on the GPU");
});

test("copy bandwidth on the cpu backend: host clock, a positive figure; no GPU profiling there", async () => {
  const cpu = await referenceBackend();
  assert.equal(canProfile(cpu), false);
  const bw = await copyBandwidth(cpu);
  assert.equal(bw.method, "host-clock");
  assert.ok(bw.gbps > 0 && Number.isFinite(bw.gbps), `copy bandwidth ${bw.gbps}`);
});

test("webgpu profiling: timed dispatches by kernel where timestamp-query exists, else a clear refusal", async (t) => {
  const be = (await testBackends()).find((b) => b.name === "webgpu") as WebGpuBackend | undefined;
  if (!be) return t.skip("no WebGPU backend here");
  const x = view(be.createBuffer(1 << 16, "f32", "x"), [1 << 16]);
  const y = view(be.createBuffer(1 << 16, "f16", "y"), [1 << 16]); // f32 -> f16: the cast kernel
  try {
    if (!canProfile(be)) {
      assert.throws(
        () => be.startProfiling(),
        (e: unknown) => e instanceof BackendError && /timestamp-query/.test(e.message),
      );
      // nothing was left half-switched: ops still run and read back
      be.fill(x, 2);
      assert.equal((await be.read(x))[5], 2);
      return;
    }
    be.startProfiling();
    be.fill(x, 1);
    await be.resetProfiling(); // drops the fill
    for (let i = 0; i < 3; i++) be.cast(y, x);
    be.fill(x, 3);
    const prof = await be.stopProfiling();
    assert.deepEqual(prof.kernels.map((k) => [k.kernel, k.dispatches]).sort(), [
      ["cast", 3],
      ["fill", 1],
    ]);
    assert.ok(prof.kernels.every((k) => k.ms > 0 && k.ms < 1e3));
    assert.equal((await be.read(y))[7], 1);
    assert.equal((await be.read(x))[7], 3);
  } finally {
    be.destroyBuffer(x.buffer);
    be.destroyBuffer(y.buffer);
  }
});

test("webgpu GPU timer: whole passes timed (a step's dispatches stay one pass) where timestamp-query exists, else a clear refusal", async (t) => {
  const be = (await testBackends()).find((b) => b.name === "webgpu") as WebGpuBackend | undefined;
  if (!be) return t.skip("no WebGPU backend here");
  const x = view(be.createBuffer(1 << 16, "f32", "x"), [1 << 16]);
  const y = view(be.createBuffer(1 << 16, "f16", "y"), [1 << 16]);
  try {
    if (!be.info().features.includes("timestamp-query")) {
      assert.throws(
        () => be.startGpuTimer(),
        (e: unknown) => e instanceof BackendError && /timestamp-query/.test(e.message),
      );
      await assert.rejects(be.stopGpuTimer(), /without startGpuTimer/);
      be.fill(x, 2);
      assert.equal((await be.read(x))[5], 2);
      return;
    }
    const before = be.rt.stats.submits;
    be.startGpuTimer();
    assert.throws(() => be.startProfiling(), /GPU timer runs/);
    for (let i = 0; i < 3; i++) be.cast(y, x);
    be.fill(x, 3);
    const first = await be.stopGpuTimer();
    // four dispatches recorded together: one submit, one pass
    assert.equal(be.rt.stats.submits - before, 1);
    assert.deepEqual([first.passes, first.untimed], [1, 0]);
    assert.ok(first.ms > 0 && first.ms < 1e3, `${first.ms} ms`);
    be.startGpuTimer();
    be.fill(x, 4);
    await be.sync(); // a submit between: two passes
    be.cast(y, x);
    const second = await be.stopGpuTimer();
    assert.equal(second.passes, 2);
    assert.equal((await be.read(y))[7], 4);
  } finally {
    be.destroyBuffer(x.buffer);
    be.destroyBuffer(y.buffer);
  }
});

test("tapes keep each dispatch's profiler label", async (t) => {
  const be = (await testBackends()).find((b) => b.name === "webgpu") as WebGpuBackend | undefined;
  if (!be) return t.skip("no WebGPU backend here");
  const x = view(be.createBuffer(64, "f32", "x"), [64]);
  const y = view(be.createBuffer(64, "f16", "y"), [64]); // f32 -> f16: the cast kernel
  const r = be.rt.capture(() => {
    be.fill(x, 1);
    be.cast(y, x);
  });
  assert.ok(r.tape, r.reason ?? "no tape");
  assert.deepEqual(r.tape.labels, ["fill", "cast"]);
  be.rt.releaseTape(r.tape);
  be.destroyBuffer(x.buffer);
  be.destroyBuffer(y.buffer);
});

test("bench step --profile: GPU time per kernel over whole training steps, else a clear refusal", async (t) => {
  const gpu = (await testBackends()).find((b) => b.name === "webgpu");
  if (!gpu) return t.skip("webgpu unavailable");
  const small = {
    backend: "webgpu" as const,
    config: "tiny-H16-MQA",
    batch: 1,
    seq: 16,
    reps: 1,
    gpuProfile: true,
  };
  if (!canProfile(gpu)) {
    await assert.rejects(
      profileStep(small),
      (e: unknown) => e instanceof ConfigError && /--profile/.test(e.message),
    );
    return;
  }
  const r = await profileStep(small);
  assert.ok(r.kernels && r.kernels.gpuMsPerStep > 0);
  const names = r.kernels.kernels.map((k) => k.kernel);
  for (const k of ["attention.forward", "attention_bwd_kv", "adamw"]) {
    assert.ok(
      names.some((n) => n.startsWith(k)),
      `${k} among ${names.join(", ")}`,
    );
  }
});
