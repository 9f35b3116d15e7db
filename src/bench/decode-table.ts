// The text table `bench decode` prints last: step rows, engine rows, capacity rows. Formatting
// only; the rows come from decode-bench.ts and engine-decode.ts.
import { formatBytes } from "../model/plan.js";
import type { BenchRow, CapacityRow, DecodeRow } from "./decode-bench.js";
import type { DecodeProfileRow } from "./decode-profile.js";
import type { DecodeRowBase, EngineDecodeRow } from "./engine-decode.js";

/** Aligned text rows: the first two columns left-aligned, the rest right-aligned. */
function textTable(
  widths: readonly number[],
  header: readonly string[],
  rows: readonly string[][],
): string[] {
  const pad = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" ");
  return [pad(header), ...rows.map(pad)];
}

/** The first six cells of a step or engine row. */
function leadCells(r: DecodeRowBase & { stepMs: number; tokensPerSecond: number }): string[] {
  return [
    r.backend,
    r.config,
    String(r.batch),
    String(r.context),
    r.stepMs.toPrecision(4),
    r.tokensPerSecond.toFixed(1),
  ];
}

/** The table printed last: decode rows, then engine rows, then capacity rows. */
export function decodeTable(rows: readonly BenchRow[]): string[] {
  const decode = rows.filter((r): r is DecodeRow => r.bench === "decode");
  const engine = rows.filter((r): r is EngineDecodeRow => r.bench === "engine-decode");
  const capacity = rows.filter((r): r is CapacityRow => r.bench === "decode-capacity");
  const gpu = decode.some((r) => r.gpuMs !== undefined);
  const out = textTable(
    [8, 20, 6, 7, 10, 11, 15, 11, 8, 6, 16, 18, ...(gpu ? [8] : [])],
    [
      "backend",
      "config",
      "batch",
      "context",
      "ms/step",
      "tokens/s",
      "p50/max ms",
      "MB/step",
      "GB/s",
      "%copy",
      "disp/sub/rd/wr",
      "rec/wait/after ms",
      ...(gpu ? ["gpu ms"] : []),
    ],
    decode.map((r) => [
      ...leadCells(r),
      r.stepMsMedian !== undefined && r.stepMsMax !== undefined
        ? `${r.stepMsMedian.toPrecision(3)}/${r.stepMsMax.toPrecision(3)}`
        : "-",
      (r.bytesPerStep / 1e6).toFixed(1),
      r.gbps.toFixed(2),
      `${((100 * r.gbps) / r.copyGbps).toFixed(0)}%`,
      r.perStep
        ? [r.perStep.dispatches, r.perStep.submits, r.perStep.reads, r.perStep.writes]
            .map((x) => String(Math.round(x * 10) / 10))
            .join("/")
        : "-",
      r.recordMs !== undefined && r.gpuWaitMs !== undefined && r.hostAfterMs !== undefined
        ? [r.recordMs, r.gpuWaitMs, r.hostAfterMs].map((x) => x.toFixed(3)).join("/")
        : "-",
      ...(gpu ? [r.gpuMs !== undefined ? r.gpuMs.toFixed(3) : "-"] : []),
    ]),
  );
  if (engine.length) {
    out.push("", "through the engine (LocalEngine.generate, greedy; prefill excluded):");
    out.push(
      ...textTable(
        [8, 20, 6, 7, 10, 11, 9, 10],
        ["backend", "config", "batch", "context", "ms/step", "tokens/s", "chained", "prefill s"],
        engine.map((r) => [
          ...leadCells(r),
          `${Math.round(100 * r.chainedPerStep)}%`,
          r.prefillSeconds.toFixed(2),
        ]),
      ),
    );
  }
  for (const p of rows.filter((r): r is DecodeProfileRow => r.bench === "decode-profile")) {
    out.push("", ...profileTable(p));
  }
  out.push("");
  out.push(
    ...textTable(
      [20, 8, 10, 12, 9],
      ["config", "context", "budget", "KV B/token", "maxBatch"],
      capacity.map((r) => [
        r.config,
        String(r.context),
        formatBytes(r.memoryBytes),
        String(r.kvBytesPerToken),
        String(r.maxBatch),
      ]),
    ),
  );
  return out;
}

/**
 * One decode row's GPU time per kernel (--profile): dispatches and microseconds per step, share of
 * the kernels' sum, and for the attention kernels the K/V bytes of the step over their own time.
 */
export function profileTable(p: DecodeProfileRow): string[] {
  const head = `GPU time per step by kernel: ${p.config} batch ${p.batch} context ${p.context} (${p.steps} steps; kernels sum ${(1e3 * p.gpuMsPerStep).toFixed(1)} us/step${p.untimed ? `; ${p.untimed} dispatches untimed` : ""})`;
  const attn = p.kernels.filter((k) => k.kernel.startsWith("paged_attention"));
  const attnMs = attn.reduce((s, k) => s + k.msPerStep, 0);
  return [
    head,
    ...textTable(
      [44, 1, 9, 10, 7, 12],
      ["kernel", "", "disp/step", "us/step", "share", "KV GB/s"],
      p.kernels.map((k) => [
        k.kernel,
        "",
        String(Math.round(k.dispatchesPerStep * 10) / 10),
        (1e3 * k.msPerStep).toFixed(1),
        `${((100 * k.msPerStep) / p.gpuMsPerStep).toFixed(1)}%`,
        k.kernel.startsWith("paged_attention") && attnMs > 0
          ? (p.kvReadBytes / (attnMs / 1e3) / 1e9).toFixed(0)
          : "",
      ]),
    ),
  ];
}
