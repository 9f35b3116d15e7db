// Does Dawn's robustness transform (index clamping on every storage/workgroup access) cost the f32
// matmul anything? Times the tiled kernels at n = 4096 on a standalone Dawn device created with or
// without the `disable_robustness` toggle (needs allow_unsafe_apis). One JSON line per kernel.
//   node dist/bench/gpu/robustness-bench.js [--disable-robustness] [--n 4096]
import { type MatmulTile, planMatmul, tileFits } from "../../src/backend/webgpu/ops/matmul.js";
import { createHarness } from "./dawn-harness.js";

const argv = process.argv.slice(2);
const off = argv.includes("--disable-robustness");
const n = Number(argv[argv.indexOf("--n") + 1] ?? 4096) || 4096;
const toggles = ["allow_unsafe_apis", ...(off ? ["disable_robustness"] : [])];
const h = await createHarness({ toggles });
const tiles: MatmulTile[] = [
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 4, tm: 8, tn: 8 },
];
const fake = (shape: number[]) => ({
  buffer: { id: 0, size: shape[0]! * shape[1]!, dtype: "f32" as const, label: "x" },
  offset: 0,
  shape,
  dtype: "f32" as const,
});
const a = h.buffer(new Float32Array(n * n).map(() => Math.random() - 0.5));
const b = h.buffer(new Float32Array(n * n).map(() => Math.random() - 0.5));
const c = h.buffer(n * n * 4);
const limits = h.limits as unknown as Parameters<typeof planMatmul>[4];
for (const tile of tiles.filter((t) => tileFits(t, limits))) {
  const plan = planMatmul(fake([n, n]), fake([n, n]), fake([n, n]), {}, limits, tile);
  const pipe = h.pipeline(plan.key, plan.source);
  const reps = 10;
  const run = async () => {
    const enc = h.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < reps; i++) h.dispatch(pass, pipe, plan.params, [a, b, c], plan.workgroups);
    pass.end();
    h.device.queue.submit([enc.finish()]);
    await h.device.queue.onSubmittedWorkDone();
  };
  await run();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000 / reps);
  }
  times.sort((x, y) => x - y);
  const s = times[2]!;
  console.log(
    JSON.stringify({
      bench: "robustness",
      robustness: !off,
      key: plan.key,
      n,
      tflops: (2 * n ** 3) / s / 1e12,
    }),
  );
}
