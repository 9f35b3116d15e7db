// Conformance of the paged-KV backend ops (kvWrite, pagedAttention) on every test backend against
// the f64 CPU reference: odd sizes (Hkv*D odd, 16-bit pools at odd offsets), fragmented block
// tables, mixed prefill/decode batches (incl. a sequence with no new queries), causal and not,
// f32/f16/bf16 pools, and on webgpu forced flash-decoding splits (many splits per sequence).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { pagedTuning } from "../../src/backend/webgpu/ops/paged-plan.js";
import type { DType } from "../../src/backend/tensor.js";
import { view } from "../../src/backend/tensor.js";
import { ShapeError } from "../../src/errors.js";
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, type Rng, uniform } from "../helpers/random.js";

const KV_DTYPES = ["f32", "f16", "bf16"] as const;

function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

interface AttnCase {
  name: string;
  heads: [number, number, number]; // H, Hkv, D
  blockSize: number;
  /** [cached keys, new queries] per sequence. */
  seqs: [number, number][];
  dtype: DType;
  causal: boolean;
  /** webgpu: keys per split floor (small = many flash-decoding splits). */
  minKeysPerSplit?: number;
}

function attentionCase(c: AttnCase, seed: number): OpCase {
  const rng = makeRng(seed);
  const [H, Hkv, D] = c.heads;
  const bs = c.blockSize;
  const lens = c.seqs.map(([cached, fresh]) => cached + fresh);
  const blocksPer = lens.map((s) => Math.ceil(s / bs));
  const numBlocks = blocksPer.reduce((a, b) => a + b, 0) + 3; // 3 blocks nobody uses
  const mb = Math.max(1, ...blocksPer);
  const order = shuffled(rng, numBlocks); // fragmented, non-monotonic tables
  const tables = new Int32Array(c.seqs.length * mb).fill(-1);
  let next = 0;
  blocksPer.forEach((nb, b) => {
    for (let i = 0; i < nb; i++) tables[b * mb + i] = order[next++]!;
  });
  const starts = [0];
  for (const [, fresh] of c.seqs) starts.push(starts[starts.length - 1]! + fresh);
  const N = starts[starts.length - 1]!;
  const pool = [numBlocks, bs, Hkv, D];
  return {
    name: c.name,
    inputs: {
      q: { shape: [N, H, D], data: uniform(rng, N * H * D, 2) },
      k: { shape: pool, dtype: c.dtype, data: uniform(rng, numBlocks * bs * Hkv * D, 2) },
      v: { shape: pool, dtype: c.dtype, data: uniform(rng, numBlocks * bs * Hkv * D) },
      tables: { shape: [c.seqs.length, mb], dtype: "i32", data: tables },
      seqLens: { shape: [c.seqs.length], dtype: "i32", data: Int32Array.from(lens) },
      starts: { shape: [c.seqs.length + 1], dtype: "i32", data: Int32Array.from(starts) },
    },
    outputs: { out: { shape: [N, H, D], tol: TOL.attention }, lse: { shape: [N, H], tol: TOL.attention } },
    run(be, t) {
      const saved = pagedTuning.minKeysPerSplit;
      if (c.minKeysPerSplit !== undefined) pagedTuning.minKeysPerSplit = c.minKeysPerSplit;
      try {
        be.pagedAttention(t.out!, t.q!, t.k!, t.v!, {
          blockTables: t.tables!,
          seqLens: t.seqLens!,
          queryStarts: t.starts!,
          lse: t.lse!,
          causal: c.causal,
        });
      } finally {
        pagedTuning.minKeysPerSplit = saved;
      }
    },
  };
}

// decode, fresh prefill, chunked-prefill continuation, T = S edge, sequences with no new query
// (first and in the middle: an empty sequence whose index equals a row's must not be taken for
// that row's sequence, see paged_rows.wgsl)
const MIXED: [number, number][] = [
  [2, 0],
  [9, 1],
  [0, 5],
  [2, 0],
  [4, 6],
  [1, 1],
  [3, 0],
];

await opTests("pagedAttention (MHA/GQA/MQA, odd D, mixed prefill+decode, fragmented tables)", () => {
  const cases: OpCase[] = [];
  let seed = 1;
  for (const heads of [
    [4, 4, 8],
    [6, 2, 5],
    [5, 1, 7],
  ] as [number, number, number][]) {
    for (const dtype of KV_DTYPES) {
      for (const causal of [true, false]) {
        const name = `H${heads[0]} Hkv${heads[1]} D${heads[2]} ${dtype} causal=${causal}`;
        cases.push(attentionCase({ name, heads, blockSize: 3, seqs: MIXED, dtype, causal }, seed++));
      }
    }
  }
  return cases;
});

await opTests("pagedAttention long context, forced flash-decoding splits", () =>
  KV_DTYPES.flatMap((dtype, i) => [
    attentionCase(
      {
        name: `decode over 75 keys, ${dtype}, 2 keys per split`,
        heads: [8, 2, 16],
        blockSize: 4,
        seqs: [
          [74, 1],
          [20, 1],
          [40, 3],
        ],
        dtype,
        causal: true,
        minKeysPerSplit: 2,
      },
      100 + i,
    ),
    attentionCase(
      {
        name: `decode over 75 keys, ${dtype}, default splits`,
        heads: [8, 1, 16],
        blockSize: 5,
        seqs: [[74, 1]],
        dtype,
        causal: true,
      },
      200 + i,
    ),
    // one sequence, fewer work items than the cpu backend's threads: its keys split over them
    // (partials merged after), a decode row and causal prefill rows
    attentionCase(
      {
        name: `one sequence, 601 keys, ${dtype}`,
        heads: [8, 1, 32],
        blockSize: 16,
        seqs: [[600, 1]],
        dtype,
        causal: true,
      },
      300 + i,
    ),
    attentionCase(
      {
        name: `one sequence, 606 keys, 6 prefill rows, ${dtype}`,
        heads: [4, 1, 32],
        blockSize: 7,
        seqs: [[600, 6]],
        dtype,
        causal: true,
      },
      400 + i,
    ),
  ]),
);

await opTests("kvWrite (odd Hkv*D rows, -1 padding, 16-bit neighbours kept)", () => {
  const cases: OpCase[] = [];
  let seed = 50;
  for (const [hkv, d] of [
    [1, 5],
    [3, 3],
    [2, 8],
  ] as const) {
    for (const dtype of KV_DTYPES) {
      const rng = makeRng(seed++);
      const numBlocks = 4;
      const bs = 3;
      const slots = Int32Array.from([7, -1, 0, 11, 4, 5]);
      const n = slots.length;
      cases.push({
        name: `kvWrite Hkv${hkv} D${d} ${dtype}`,
        inputs: {
          src: { shape: [n, hkv, d], data: uniform(rng, n * hkv * d) },
          slots: { shape: [n], dtype: "i32", data: slots },
        },
        outputs: {
          pool: {
            shape: [numBlocks, bs, hkv, d],
            dtype,
            data: uniform(rng, numBlocks * bs * hkv * d, 3),
            tol: TOL.exact,
          },
        },
        run(be, t) {
          be.kvWrite(t.pool!, t.src!, t.slots!);
        },
      });
    }
  }
  return cases;
});

test("cpu pagedAttention and kvWrite reject inconsistent metadata with ShapeErrors", async () => {
  const { createBackend } = await import("../../src/backend/registry.js");
  const be: Backend = await createBackend("cpu", { precision: "f32" });
  try {
    const t = (shape: number[], dtype: DType, data?: Int32Array) => {
      const x = view(
        be.createBuffer(
          shape.reduce((a, b) => a * b, 1),
          dtype,
        ),
        shape,
      );
      if (data) be.write(x, data);
      else be.fill(x, 0);
      return x;
    };
    const pool = t([2, 2, 1, 4], "f32");
    const q = t([2, 2, 4], "f32");
    const out = t([2, 2, 4], "f32");
    const meta = (lens: number[], tables: number[]) => ({
      blockTables: t([1, 2], "i32", Int32Array.from(tables)),
      seqLens: t([1], "i32", Int32Array.from(lens)),
      queryStarts: t([2], "i32", Int32Array.from([0, 2])),
    });
    be.pagedAttention(out, q, pool, pool, meta([3], [0, 1]));
    assert.throws(() => be.pagedAttention(out, q, pool, pool, meta([1], [0, 1])), /2 queries but 1 keys/);
    assert.throws(() => be.pagedAttention(out, q, pool, pool, meta([5], [0, 1])), /5 keys but 2 blocks/);
    assert.throws(() => be.pagedAttention(out, q, pool, pool, meta([3], [0, 9])), /block 9 is out of range/);
    assert.throws(
      () => be.pagedAttention(out, t([2, 3, 4], "f32"), pool, pool, meta([3], [0, 1])),
      ShapeError,
    );
    assert.throws(
      () => be.kvWrite(pool, t([1, 1, 4], "f32"), t([1], "i32", Int32Array.from([4]))),
      /slot 4 of row 0 is outside the pool's 4 slots/,
    );
  } finally {
    be.dispose();
  }
});
