// kvWrite and pagedAttention on every test backend (webgpu included) against the f64 CPU oracle:
// pools in f32/f16/bf16 at odd element offsets (16-bit rows sharing words), odd row lengths,
// skipped (-1) slots, varlen sequences mixing prefill and decode rows, causal and not, with lse.
import type { OpCase } from "../helpers/op-case.js";
import { opTests } from "../helpers/op-case.js";
import { TOL } from "../helpers/compare.js";
import { makeRng, uniform } from "../helpers/random.js";
import type { DType } from "../../src/backend/tensor.js";

function tolFor(dtype: DType): number {
  return dtype === "f16" ? TOL.f16 : dtype === "bf16" ? TOL.bf16 : TOL.exact;
}

function kvWriteCase(dtype: DType, hkv: number, d: number, seed: number): OpCase {
  const rng = makeRng(seed);
  const [nb, bs] = [3, 4];
  const slots = Int32Array.from([0, 7, -1, 11, 4, 5]);
  return {
    name: `kvWrite ${dtype} Hkv=${hkv} D=${d}`,
    inputs: {
      src: { shape: [slots.length, hkv, d], data: uniform(rng, slots.length * hkv * d) },
      slots: { shape: [slots.length], dtype: "i32", data: slots },
    },
    outputs: {
      pool: { shape: [nb, bs, hkv, d], dtype, data: uniform(rng, nb * bs * hkv * d), tol: tolFor(dtype) },
    },
    run: (be, t) => be.kvWrite(t.pool!, t.src!, t.slots!),
  };
}

function pagedCase(dtype: DType, causal: boolean, seed: number): OpCase {
  const rng = makeRng(seed);
  const [nb, bs, hkv, h, d] = [6, 4, 2, 4, 8];
  const seqLens = Int32Array.from([7, 3, 9]);
  const queryStarts = Int32Array.from([0, 3, 4, 6]); // 3 prefill rows, 1 decode row, 2 rows
  const blockTables = Int32Array.from([5, 1, 3, 0, 2, 4, 4, 3, 2]);
  const n = queryStarts[3]!;
  return {
    name: `pagedAttention ${dtype} causal=${causal}`,
    inputs: {
      q: { shape: [n, h, d], data: uniform(rng, n * h * d) },
      kPool: { shape: [nb, bs, hkv, d], dtype, data: uniform(rng, nb * bs * hkv * d) },
      vPool: { shape: [nb, bs, hkv, d], dtype, data: uniform(rng, nb * bs * hkv * d) },
      blockTables: { shape: [3, 3], dtype: "i32", data: blockTables },
      seqLens: { shape: [3], dtype: "i32", data: seqLens },
      queryStarts: { shape: [4], dtype: "i32", data: queryStarts },
    },
    outputs: {
      out: { shape: [n, h, d], tol: TOL.attention },
      lse: { shape: [n, h], tol: TOL.attention },
    },
    run: (be, t) =>
      be.pagedAttention(t.out!, t.q!, t.kPool!, t.vPool!, {
        blockTables: t.blockTables!,
        seqLens: t.seqLens!,
        queryStarts: t.queryStarts!,
        lse: t.lse!,
        causal,
        scale: 0.4,
      }),
  };
}

await opTests("kvWrite", () => [
  kvWriteCase("f32", 2, 5, 1),
  kvWriteCase("f16", 2, 5, 2),
  kvWriteCase("bf16", 1, 3, 3),
  kvWriteCase("f16", 1, 3, 4),
]);

await opTests("pagedAttention", () => [
  pagedCase("f32", true, 5),
  pagedCase("f16", true, 6),
  pagedCase("bf16", false, 7),
]);
