import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError } from "../../src/errors.js";
import { bytesToF32, f32Bytes } from "../../src/io/safetensors.js";
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";

function tensor(name: string, values: number[]) {
  return { name, dtype: "F32" as const, shape: [values.length], data: f32Bytes(new Float32Array(values)) };
}

test("save, latest, load round trip; old checkpoints pruned", () => {
  const root = mkdtempSync(join(tmpdir(), "ckpt-"));
  assert.equal(latestCheckpoint(root), undefined);
  for (const step of [10, 20, 30]) {
    saveCheckpoint(root, {
      step,
      params: [tensor("w", [step, 1])],
      optimizer: [tensor("m", [0.5])],
      state: { note: `s${step}` },
    });
  }
  const dir = latestCheckpoint(root);
  assert.ok(dir?.endsWith("step-00000030"));
  const c = loadCheckpoint<{ note: string }>(dir!);
  assert.equal(c.step, 30);
  assert.equal(c.state.note, "s30");
  assert.deepEqual([...bytesToF32(c.params.tensors.get("w")!.data)], [30, 1]);
  assert.deepEqual(
    readdirSync(root)
      .filter((f) => f.startsWith("step-"))
      .sort(),
    ["step-00000020", "step-00000030"],
  );
});

test("a run killed mid-write leaves the previous checkpoint as latest", () => {
  const root = mkdtempSync(join(tmpdir(), "ckpt-"));
  saveCheckpoint(root, { step: 5, params: [tensor("w", [1])], optimizer: [], state: {} });
  // what a kill during step 6's write leaves: a partial folder with a torn file, latest unmoved
  const partial = join(root, ".step-00000006.partial");
  mkdirSync(partial);
  writeFileSync(join(partial, "model.safetensors"), "torn");
  assert.equal(loadCheckpoint(latestCheckpoint(root)!).step, 5);
  // the next save of that step replaces the debris
  saveCheckpoint(root, { step: 6, params: [tensor("w", [2])], optimizer: [], state: {} });
  assert.ok(!existsSync(partial));
  assert.equal(loadCheckpoint(latestCheckpoint(root)!).step, 6);
});

test("files that disagree on the step are refused", () => {
  const a = mkdtempSync(join(tmpdir(), "ckpt-"));
  saveCheckpoint(a, { step: 1, params: [tensor("w", [1])], optimizer: [], state: {} });
  saveCheckpoint(a, { step: 2, params: [tensor("w", [2])], optimizer: [], state: {} });
  // put step 1's weights into step 2's folder
  copyFileSync(join(a, "step-00000001", "model.safetensors"), join(a, "step-00000002", "model.safetensors"));
  assert.throws(
    () => loadCheckpoint(join(a, "step-00000002")),
    (e: unknown) => e instanceof FormatError && /step 1/.test((e as Error).message),
  );
});
