import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError } from "../../src/errors.js";
import {
  bytesToF32,
  decodeSafetensors,
  encodeSafetensors,
  f32Bytes,
  readSafetensors,
  writeSafetensors,
} from "../../src/io/safetensors.js";

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

test("decodes a hand-built file byte for byte", () => {
  // header {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} then 1.0, -2.5 little-endian
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]);
  const file = decodeSafetensors(new Uint8Array(Buffer.concat([head, Buffer.from(json), data])));
  const a = file.tensors.get("a");
  assert.ok(a);
  assert.deepEqual(a.shape, [2]);
  assert.deepEqual([...bytesToF32(a.data)], [1, -2.5]);
});

test("round trip keeps order, shapes, dtypes, metadata; header is 8-byte aligned", () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6]);
  const ids = new Uint8Array(new Int32Array([7, -1]).buffer);
  const chunks = encodeSafetensors(
    [
      { name: "x", dtype: "F32", shape: [2, 3], data: f32Bytes(x) },
      { name: "ids", dtype: "I32", shape: [2], data: ids },
      { name: "h", dtype: "F16", shape: [1], data: new Uint8Array([0, 0x3c]) },
    ],
    { format: "pt", step: "3" },
  );
  const bytes = concat(chunks);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const back = decodeSafetensors(bytes);
  assert.deepEqual([...back.tensors.keys()], ["x", "ids", "h"]);
  assert.deepEqual([...bytesToF32(back.tensors.get("x")!.data)], [...x]);
  assert.deepEqual([...new Int32Array(back.tensors.get("ids")!.data.slice().buffer)], [7, -1]);
  assert.deepEqual(back.metadata, { format: "pt", step: "3" });
});

test("truncated and inconsistent files fail with the file named", () => {
  const dir = mkdtempSync(join(tmpdir(), "st-"));
  const path = join(dir, "m.safetensors");
  writeSafetensors(path, [{ name: "w", dtype: "F32", shape: [4], data: f32Bytes(new Float32Array(4)) }]);
  const whole = readFileSync(path);
  writeFileSync(path, whole.subarray(0, whole.length - 3));
  assert.throws(
    () => readSafetensors(path),
    (e: unknown) => e instanceof FormatError && e.message.includes(path),
  );
  assert.throws(() => decodeSafetensors(new Uint8Array(4)), /too short/);
  assert.throws(
    () => encodeSafetensors([{ name: "w", dtype: "F32", shape: [3], data: new Uint8Array(8) }]),
    /needs 12/,
  );
});
