// The params ring's upload skipping: a tape's slots reloaded right after they were last uploaded
// are not copied or uploaded again. Checked against a model: after every upload the (fake) GPU
// buffer's first slots hold exactly what a ring that always uploads everything would hold there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createRng } from "../../src/infer/rng.js";
import { ParamsRing } from "../../src/backend/webgpu/params-ring.js";

const STRIDE = 256;

/** A GPUDevice/GPUQueue pair that keeps the uniform buffer's bytes on the host. */
function fakeDevice() {
  const gpu = new Uint8Array(STRIDE * 2048);
  const writes: { at: number; bytes: number }[] = [];
  const queue = {
    writeBuffer(_b: unknown, at: number, data: ArrayBuffer, from: number, size: number) {
      gpu.set(new Uint8Array(data, from, size), at);
      writes.push({ at, bytes: size });
    },
  } as unknown as GPUQueue;
  const device = { createBuffer: () => ({ destroy() {} }) } as unknown as GPUDevice;
  return { gpu, writes, queue, device };
}

/** Slot i of a params write: 4 words derived from (tag, i). */
const params = (tag: number, i: number) => new Uint32Array([tag, i, tag * 1000 + i, 7]);

test("params ring: a resident tape is neither copied nor uploaded again; the GPU bytes stay right", () => {
  const rng = createRng(77);
  const { gpu, writes, queue, device } = fakeDevice();
  const ring = new ParamsRing(device, STRIDE);
  const tapes: { bytes: Uint8Array; count: number }[] = [];
  let skipped = 0;
  for (let round = 0; round < 400; round++) {
    // what slots [0, used) must hold on the GPU after this round's upload
    const want: Uint32Array[] = [];
    const r = rng.next();
    if (r < 0.3 || tapes.length === 0) {
      // plain ops, or a capture (their slots become a tape)
      const n = 1 + (rng.nextU32() % 6);
      const tag = round + 1;
      for (let i = 0; i < n; i++) want.push(params(tag, i));
      for (const p of want) ring.write("t", p);
      if (rng.next() < 0.5) tapes.push({ bytes: ring.snapshot(), count: n });
    } else {
      // a replay of a known tape, sometimes with more ops recorded after it before the submit
      const t = tapes[rng.nextU32() % tapes.length]!;
      ring.load(t.bytes, t.count);
      for (let i = 0; i < t.count; i++) want.push(new Uint32Array(t.bytes.buffer, i * STRIDE, 4).slice());
      if (rng.next() < 0.3) {
        const p = params(-round, 0);
        ring.write("t", p);
        want.push(p);
      }
    }
    const before = writes.length;
    ring.upload(queue);
    if (writes.length === before) skipped++;
    want.forEach((p, i) => {
      assert.deepEqual([...new Uint32Array(gpu.buffer, i * STRIDE, 4)], [...p], `round ${round}, slot ${i}`);
    });
  }
  assert.ok(skipped > 10, `uploads skipped ${skipped} times`);
  assert.equal(ring.uploads, writes.length);
});

test("params ring: the same tape twice in a row uploads once; other params in between force it up", () => {
  const { writes, queue, device } = fakeDevice();
  const ring = new ParamsRing(device, STRIDE);
  ring.write("t", params(1, 0));
  ring.write("t", params(1, 1));
  const tape = ring.snapshot();
  ring.upload(queue);
  assert.equal(writes.length, 1);
  ring.load(tape, 2);
  ring.upload(queue);
  ring.load(tape, 2);
  ring.write("t", params(2, 0)); // a slot after the tape's: only it goes up
  ring.upload(queue);
  assert.deepEqual(writes.slice(1), [{ at: 2 * STRIDE, bytes: STRIDE }]);
  ring.write("t", params(3, 0)); // slot 0 overwritten: the tape must go up whole next time
  ring.upload(queue);
  ring.load(tape, 2);
  ring.upload(queue);
  assert.deepEqual(writes.at(-1), { at: 0, bytes: 2 * STRIDE });
  assert.throws(() => {
    ring.write("t", params(4, 0));
    ring.load(tape, 2);
  }, /unsent slots/);
});
