// Probe of the f16 subgroup-matrix (tensor core) matmul on a standalone Dawn device: prints the
// adapter's subgroup-matrix configs, compiles a minimal 16x16x16 kernel and the real kernel
// (compilation messages shown), then checks and times the real kernel size by size, one JSON line
// each (a crash at some size leaves the earlier lines). Run it in its own process.
//   node dist/bench/gpu/tc-probe.js [--sizes 1024,2048,4096,8192]
import { planMatmul, SUBGROUP_TILE } from "../../src/backend/webgpu/ops/matmul.js";
import { matmulSource } from "../../src/backend/webgpu/ops/matmul-source.js";
import { createHarness } from "./dawn-harness.js";

const argv = process.argv.slice(2);
const si = argv.indexOf("--sizes");
const sizes = (si >= 0 ? argv[si + 1]! : "1024,2048,4096,8192").split(",").map(Number);
const say = (o: object) => console.log(JSON.stringify({ probe: "tc", ...o }));

const h = await createHarness({
  toggles: ["allow_unsafe_apis", "vulkan_enable_f16_on_nvidia"],
  features: ["shader-f16", "subgroups", "chromium-experimental-subgroup-matrix"] as GPUFeatureName[],
});
const info = h.device.adapterInfo as unknown as { subgroupMatrixConfigs?: unknown[] };
say({ features: h.features, configs: info.subgroupMatrixConfigs ?? "n/a" });

async function compile(name: string, code: string): Promise<boolean> {
  const mod = h.device.createShaderModule({ code });
  const ci = await mod.getCompilationInfo();
  const errs = ci.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
  h.device.pushErrorScope("validation");
  h.device.createComputePipeline({ layout: "auto", compute: { module: mod, entryPoint: "main" } });
  const e = await h.device.popErrorScope();
  const shown = [...errs.filter((m) => m.startsWith("error")), ...errs.filter((m) => !m.startsWith("error"))];
  say({ compile: name, messages: shown.slice(0, 6), pipelineError: e?.message ?? null });
  return !errs.some((m) => m.startsWith("error")) && !e;
}

const minimal = `enable f16;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
var<workgroup> l: array<f16, 256>;
var<workgroup> r: array<f16, 256>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) i: u32) {
  for (var e = i; e < 256u; e += 32u) { l[e] = f16(e % 7u); r[e] = f16(e % 5u); }
  workgroupBarrier();
  let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&l, 0u, false, 16u);
  let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&r, 0u, false, 16u);
  let c = subgroupMatrixMultiplyAccumulate(a, b, subgroup_matrix_result<f32, 16, 16>());
  subgroupMatrixStore(&o, 0u, c, false, 16u);
}`;
await compile("minimal", minimal);
const v = {
  kind: "subgroup" as const,
  tile: SUBGROUP_TILE,
  transA: false,
  transB: false,
  check: false,
  bDtype: "f32" as const,
};
const base = matmulSource(v);
// the non-deprecated spelling: layout as a template argument instead of the col_major bool
const newSyntax = base
  .replace(
    /subgroupMatrixLoad<(subgroup_matrix_\w+<f16, 16, 16>)>\(([^;]*), false, (\w+)\)/g,
    "subgroupMatrixLoad<$1, row_major>($2, $3)",
  )
  .replace(/subgroupMatrixStore\(([^;]*), false, 16u\)/g, "subgroupMatrixStore<row_major>($1, 16u)");
const noUniformity = (code: string) =>
  code.replace("enable f16;", "enable f16;\nenable chromium_disable_uniformity_analysis;");
const variants: [string, string][] = [
  ["matmul_subgroup", base],
  ["matmul_subgroup new-syntax", newSyntax],
  ["matmul_subgroup new-syntax+no-uniformity", noUniformity(newSyntax)],
  [
    "matmul_subgroup+no-uniformity",
    base.replace("enable f16;", "enable f16;\nenable chromium_disable_uniformity_analysis;"),
  ],
];
let chosen: string | undefined;
for (const [name, code] of variants) {
  if (await compile(name, code)) {
    chosen ??= code;
    say({ using: name });
  }
}
const ok = chosen !== undefined;

const fake = (n: number) => ({
  buffer: { id: 0, size: n * n, dtype: "f32" as const, label: "x" },
  offset: 0,
  shape: [n, n],
  dtype: "f32" as const,
});
const limits = h.limits as unknown as Parameters<typeof planMatmul>[4];
for (const n of ok ? sizes : []) {
  const A = new Float32Array(n * n).map(() => Math.random() - 0.5);
  const B = new Float32Array(n * n).map(() => Math.random() - 0.5);
  const a = h.buffer(A);
  const b = h.buffer(B);
  const c = h.buffer(new Float32Array(n * n).fill(Number.NaN));
  const plan = planMatmul(fake(n), fake(n), fake(n), {}, limits, SUBGROUP_TILE);
  const pipe = h.pipeline(plan.key, () => chosen ?? plan.source());
  await h.run(pipe, plan.params, [a, b, c], plan.workgroups);
  const got = new Float32Array(await h.read(c));
  let num = 0;
  let den = 0;
  for (let s = 0; s < 128; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729 + 13) % n;
    let r = 0;
    for (let k = 0; k < n; k++) r += A[i * n + k]! * B[k * n + j]!;
    num += (got[i * n + j]! - r) ** 2;
    den += r * r;
  }
  const reps = 10;
  const times: number[] = [];
  for (let t = 0; t < 4; t++) {
    const enc = h.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < reps; i++) h.dispatch(pass, pipe, plan.params, [a, b, c], plan.workgroups);
    pass.end();
    const t0 = performance.now();
    h.device.queue.submit([enc.finish()]);
    await h.device.queue.onSubmittedWorkDone();
    times.push((performance.now() - t0) / 1000 / reps);
  }
  times.sort((x, y) => x - y);
  const s = times[1]!;
  say({ n, relErr: Math.sqrt(num / den), tflops: (2 * n ** 3) / s / 1e12, ms: s * 1e3 });
  for (const x of [a, b, c]) x.destroy();
}
