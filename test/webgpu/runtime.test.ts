// WebGPU runtime behaviour on whatever adapter this machine gives (llvmpipe in CI): f16/bf16 packing
// at odd offsets, odd-offset views, 1000+ dispatches in one encoder, cache/pool reuse, aliasing,
// clear errors for bad views, and kernel errors surfacing as BackendError instead of hanging.
// References are host computations (dtype-convert's RNE rounding, plain f64 arithmetic).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { toBf16Bits, toF16Bits } from "../../src/backend/dtype-convert.js";
import type { Tensor } from "../../src/backend/tensor.js";
import { view } from "../../src/backend/tensor.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import type { WebGpuBackend } from "../../src/backend/webgpu/webgpu-backend.js";
import { BackendError, ShapeError } from "../../src/errors.js";

let be: WebGpuBackend;
before(async () => {
  be = (await createWebGpuBackend()) as WebGpuBackend;
});
after(() => be?.dispose());

function rand(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 8 - 4;
  });
}

const bits16 = { f16: toF16Bits, bf16: toBf16Bits } as const;
const f32view = new Float32Array(1);
const u32view = new Uint32Array(f32view.buffer);
function f16Value(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v =
    e === 0
      ? m * 2 ** -24
      : e === 31
        ? m
          ? Number.NaN
          : Number.POSITIVE_INFINITY
        : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}
function bf16Value(h: number): number {
  u32view[0] = h << 16;
  return f32view[0]!;
}

for (const dtype of ["f16", "bf16"] as const) {
  test(`${dtype} write/read round trips at odd offsets keep neighbours`, async () => {
    const buf = be.createBuffer(23, dtype, "packed");
    const whole = view(buf, [23]);
    be.fill(whole, 3.5);
    const cases: [number, number][] = [
      [1, 5],
      [4, 3],
      [9, 6],
      [16, 7],
    ];
    const want = new Float64Array(23).fill(3.5);
    cases.forEach(([off, n], k) => {
      const data = rand(n, 7 + k).map((x) => x * 1000 ** (k % 2));
      be.write(view(buf, [n], off), data);
      const toValue = dtype === "f16" ? f16Value : bf16Value;
      data.forEach((x, i) => {
        want[off + i] = toValue(bits16[dtype](x));
      });
    });
    assert.deepEqual([...(await be.read(whole))], [...want]);
    assert.deepEqual([...(await be.read(view(buf, [5], 1)))], [...want.slice(1, 6)]);
    // cast f16/bf16 -> f32 and back at odd offsets
    const f = be.createBuffer(9, "f32", "wide");
    be.fill(view(f, [9]), -1);
    be.cast(view(f, [5], 3), view(buf, [5], 9));
    const wide = await be.read(view(f, [9]));
    assert.deepEqual([...wide], [-1, -1, -1, ...want.slice(9, 14), -1]);
    be.cast(view(buf, [3], 2), view(f, [3], 4));
    want.set(want.slice(10, 13), 2);
    assert.deepEqual([...(await be.read(whole))], [...want]);
  });
}

test("views at odd element offsets of one shared buffer, and in-place aliasing", async () => {
  const buf = be.createBuffer(3 * 37 + 5, "f32", "arena");
  const a = view(buf, [37], 1);
  const b = view(buf, [37], 38);
  const out = view(buf, [37], 77);
  const av = Float32Array.from(rand(37, 1));
  const bv = Float32Array.from(rand(37, 2));
  be.write(a, av);
  be.write(b, bv);
  be.add(out, a, b, 0.5, -2); // three ranges of one buffer, two sharing 16-byte blocks
  be.add(a, a, b); // out aliases a exactly
  be.scale(b, b, 3); // in place
  const o = await be.read(out);
  const a2 = await be.read(a);
  const b2 = await be.read(b);
  for (let i = 0; i < 37; i++) {
    assert.equal(o[i], Math.fround(Math.fround(0.5 * av[i]!) + Math.fround(-2 * bv[i]!)));
    assert.equal(a2[i], Math.fround(av[i]! + bv[i]!));
    assert.equal(b2[i], Math.fround(3 * bv[i]!));
  }
});

test("1200 dispatches recorded in one encoder, one submit, exact result", async () => {
  const rt = be.rt;
  const x = view(be.createBuffer(300, "f32", "acc"), [300]);
  const one = view(be.createBuffer(300, "f32", "one"), [300]);
  be.fill(x, 0);
  be.fill(one, 1);
  await be.sync();
  const saved = rt.submitEvery;
  rt.submitEvery = 1e9;
  const submits0 = rt.stats.submits;
  const dispatches0 = rt.stats.dispatches;
  for (let i = 0; i < 1200; i++) be.add(x, x, one);
  const got = await be.read(x);
  rt.submitEvery = saved;
  assert.equal(rt.stats.dispatches - dispatches0, 1200);
  assert.equal(rt.stats.submits - submits0, 1, "all dispatches and the read copy go in one submit");
  assert.ok(got.every((v) => v === 1200));
});

test("pipelines, bind groups and scratch buffers are reused across identical ops", async () => {
  const rt = be.rt;
  const xs = [view(be.createBuffer(5000, "f32", "g1"), [5000]), view(be.createBuffer(77, "f32", "g2"), [77])];
  const out = view(be.createBuffer(1, "f32", "ss"), [1]);
  const data = xs.map((x, i) => rand(x.shape[0]!, 30 + i));
  xs.forEach((x, i) => {
    be.write(x, data[i]!);
  });
  be.sumSquares(out, xs);
  await be.read(out);
  const groups = rt.stats.bindGroupsCreated;
  const poolBytes = rt.pool.bytes;
  for (let k = 0; k < 20; k++) be.sumSquares(out, xs);
  const got = (await be.read(out))[0]!;
  assert.equal(rt.stats.bindGroupsCreated, groups, "no new bind groups for repeated identical ops");
  assert.equal(rt.pool.bytes, poolBytes, "scratch comes from the pool");
  const want = data.flatMap((d) => [...d]).reduce((s, v) => s + Math.fround(v) ** 2, 0);
  assert.ok(Math.abs(got - want) <= 1e-5 * want, `sumSquares ${got} vs ${want}`);
});

test("read after a long chain of ops equals the host computation", async () => {
  const n = 513;
  const x = view(be.createBuffer(n, "f32", "x"), [n]);
  const y = view(be.createBuffer(n + 1, "f32", "y"), [n], 1);
  const xv = Float32Array.from(rand(n, 9));
  be.write(x, xv);
  be.fill(y, 0.25);
  const host = Float32Array.from(xv);
  const hy = new Float32Array(n).fill(0.25);
  for (let k = 0; k < 50; k++) {
    be.add(y, y, x, 0.5, 1);
    be.scale(x, x, -1);
    for (let i = 0; i < n; i++) {
      hy[i] = Math.fround(Math.fround(0.5 * hy[i]!) + host[i]!);
      host[i] = -host[i]!;
    }
  }
  assert.deepEqual([...(await be.read(y))], [...hy]);
});

test("bad views and foreign or destroyed buffers give clear errors", async () => {
  const buf = be.createBuffer(10, "f32", "small");
  const bad: Tensor = { buffer: buf, offset: 8, shape: [4], dtype: "f32" };
  assert.throws(
    () => be.fill(bad, 1),
    (e) => e instanceof ShapeError && /needs 12 elements/.test(e.message),
  );
  const wrongType: Tensor = { buffer: buf, offset: 0, shape: [4], dtype: "f16" };
  assert.throws(() => be.fill(wrongType, 1), ShapeError);
  const foreign = { id: 1, size: 10, dtype: "f32" as const, label: "foreign" };
  assert.throws(
    () => be.fill(view(foreign, [10]), 1),
    (e) => e instanceof BackendError && /foreign/.test(e.message),
  );
  const gone = be.createBuffer(4, "f32", "gone");
  be.destroyBuffer(gone);
  await assert.rejects(
    be.read(view(gone, [4])),
    (e) => e instanceof BackendError && /destroyed/.test(e.message),
  );
  assert.throws(() => be.write(view(buf, [3]), new Float32Array(2)), ShapeError);
});

test("a kernel that fails to compile surfaces as BackendError on sync, not a hang", async () => {
  const other = (await createWebGpuBackend()) as WebGpuBackend;
  try {
    const t = view(other.createBuffer(4, "f32", "t"), [4]);
    other.rt.dispatch({
      key: "broken-test-kernel",
      source:
        "@group(0) @binding(1) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1) fn main() { x[0] = undefined_name; }",
      bindings: [t],
      workgroups: [1, 1, 1],
    });
    await assert.rejects(
      other.sync(),
      (e) => e instanceof BackendError && /broken-test-kernel/.test(e.message),
    );
    assert.throws(() => other.fill(t, 1), BackendError, "the backend stays failed");
  } finally {
    other.dispose();
  }
});

test("device loss surfaces as BackendError on read, not a hang", async () => {
  const other = (await createWebGpuBackend()) as WebGpuBackend;
  try {
    const t = view(other.createBuffer(4, "f32", "t"), [4]);
    other.fill(t, 2);
    other.rt.device.destroy();
    await assert.rejects(
      (async () => {
        await other.read(t);
        other.fill(t, 1);
      })(),
      (e) => e instanceof BackendError && /lost|destroy/i.test(e.message),
    );
  } finally {
    other.dispose();
  }
});

test("grids over 65535 workgroups are split in 2-D and cover every element", async () => {
  const n = 65535 * 256 + 1000; // one thread per element, 256 per workgroup: 65539 workgroups
  const x = view(be.createBuffer(n + 1, "f32", "big"), [n], 1);
  be.fill(x, 1.5);
  be.scale(x, x, 2);
  const got = await be.read(x);
  let bad = -1;
  for (let i = 0; i < n && bad < 0; i++) if (got[i] !== 3) bad = i;
  assert.equal(bad, -1, `element ${bad} was not written`);
  be.destroyBuffer(x.buffer);
});
