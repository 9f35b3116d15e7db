// `crosslayer bench decode` in-process through commander: --engine --run-ahead N reaches the engine
// (steps chained ahead of the read only when N > 0) and a bad value is refused by name; --pipeline
// rows carry the host's split of each step (recording, submit, waiting for the step before) and
// it adds up to the step time, with the median and longest interval between steps' results;
// --help explains the table's columns; --attention-mma refuses an unknown mode; --gpu-time adds
// the GPU's time per step (or a note where the adapter cannot time it).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { intervalStats } from "../../src/bench/decode-bench.js";
import { registerDecodeBench } from "../../src/bench/decode-cli.js";
import { testBackends } from "../helpers/backends.js";
import { tinyConfig } from "./model-configs.js";

async function run(args: string[]): Promise<string[]> {
  const root = new Command().exitOverride();
  registerDecodeBench(root.command("bench"));
  const printed: string[] = [];
  const write = process.stdout.write;
  // the command's lines are strings; anything else (the test runner's own messages) goes through
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) =>
    typeof s === "string"
      ? printed.push(s) > 0
      : (write as (...a: unknown[]) => boolean).call(
          process.stdout,
          s,
          ...rest,
        )) as typeof process.stdout.write;
  try {
    await root.parseAsync(["bench", "decode", ...args], { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  return printed.join("").split("\n").filter(Boolean);
}

/** `bench decode --backend webgpu` on a 2-layer tiny config (CLA `factor`), batch 2, context 8. */
async function runTiny(factor: number, args: string[]): Promise<Record<string, number | string | boolean>[]> {
  const dir = mkdtempSync(join(tmpdir(), "cl-decode-cli-"));
  try {
    const file = join(dir, "tiny.json");
    const cfg = { ...tinyConfig("tiny", 1, { kind: "uniform", factor }, "f16"), nLayers: 2, maxSeqLen: 64 };
    writeFileSync(file, JSON.stringify(cfg));
    const base = ["--backend", "webgpu", "--configs", file, "--batches", "2", "--contexts", "8"];
    return (await run([...base, ...args, "--json"])).map((l) => JSON.parse(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("bench decode --run-ahead: 0 chains nothing, 2 chains steps ahead of the read (webgpu)", async (t) => {
  if (!(await testBackends()).some((b) => b.name === "webgpu")) return t.skip("webgpu unavailable");
  const chained: number[] = [];
  for (const ra of ["0", "2"]) {
    const rows = await runTiny(2, ["--steps", "4", "--engine", "--run-ahead", ra]);
    const row = rows.find((r) => r.bench === "engine-decode");
    assert.ok(row, `an engine-decode row for --run-ahead ${ra}`);
    chained.push(row.chainedPerStep as number);
  }
  assert.equal(chained[0], 0);
  assert.ok(chained[1]! > 0, `run-ahead 2 chained ${chained[1]} steps per step`);
});

test("bench decode --pipeline: the host's time per step split into record / after / wait (webgpu)", async (t) => {
  if (!(await testBackends()).some((b) => b.name === "webgpu")) return t.skip("webgpu unavailable");
  const row = (await runTiny(1, ["--steps", "6", "--pipeline"])).find((r) => r.bench === "decode");
  assert.ok(row?.pipelined, "a pipelined decode row");
  const parts = [row.recordMs, row.hostAfterMs, row.gpuWaitMs] as number[];
  assert.ok(
    parts.every((x) => Number.isFinite(x) && x >= 0),
    `split ${parts}`,
  );
  assert.ok(parts[0]! > 0, "recording takes time");
  const sum = parts.reduce((a, b) => a + b, 0);
  const stepMs = row.stepMs as number;
  // the split covers each step but the first: within a quarter of the step time
  assert.ok(Math.abs(sum - stepMs) <= 0.25 * stepMs, `split sums to ${sum}, step ${stepMs} ms`);
  // the median and longest interval between steps' results bracket the mean step
  const median = row.stepMsMedian as number;
  const max = row.stepMsMax as number;
  assert.ok(median > 0 && median <= max, `p50 ${median}, max ${max}`);
  assert.ok(max >= 0.75 * stepMs && median <= 1.5 * stepMs, `p50 ${median}, max ${max}, mean ${stepMs}`);
});

test("interval stats: the median and the longest gap between results, none under three steps", () => {
  assert.deepEqual(intervalStats([0, 1]), {});
  // gaps 1, 1, 30 (a pause), 1, 2: median 1, max 30
  assert.deepEqual(intervalStats([0, 1, 2, 32, 33, 35]), { stepMsMedian: 1, stepMsMax: 30 });
  assert.deepEqual(intervalStats([5, 7, 11]), { stepMsMedian: 2, stepMsMax: 4 });
});

test("bench decode --help explains the table's columns", () => {
  const root = new Command();
  registerDecodeBench(root.command("bench"));
  const decode = root.commands[0]!.commands.find((c) => c.name() === "decode")!;
  let help = "";
  decode.configureOutput({ writeOut: (s) => (help += s) });
  decode.outputHelp();
  assert.match(help, /--gpu-time/);
  assert.match(help, /p50\/max ms the median and longest time/);
});

test("bench decode --gpu-time: GPU ms per step within the step time where timestamp-query exists, else a note and no column", async (t) => {
  const be = (await testBackends()).find((b) => b.name === "webgpu");
  if (!be) return t.skip("webgpu unavailable");
  const rows = await runTiny(1, ["--steps", "6", "--pipeline", "--gpu-time"]);
  const row = rows.find((r) => r.bench === "decode");
  assert.ok(row, "a decode row");
  if (!be.info().features.includes("timestamp-query")) {
    assert.equal(row.gpuMs, undefined);
    const text = await run([
      "--backend",
      "webgpu",
      "--configs",
      "small-H64-MQA",
      "--batches",
      "1",
      "--contexts",
      "8",
      "--steps",
      "2",
      "--gpu-time",
    ]);
    assert.ok(
      text.some((l) => /--gpu-time: .*no timestamp-query/.test(l)),
      text.join("\n"),
    );
    const header = text.find((l) => l.startsWith("backend"));
    assert.ok(header && !header.includes("gpu ms"), `no gpu ms column without timings: ${header}`);
    return;
  }
  const gpuMs = row.gpuMs as number;
  // the GPU's share of a step: positive, and (chained steps wait for it) at most the step's time
  assert.ok(gpuMs > 0 && gpuMs <= 1.05 * (row.stepMs as number), `gpu ${gpuMs} ms, step ${row.stepMs} ms`);
});

test("bench decode --run-ahead refuses a value outside 0..8, naming it", async () => {
  await assert.rejects(
    run(["--run-ahead", "-1", "--engine"]),
    /--run-ahead "-1" must be an integer from 0 to 8/,
  );
});

test("bench decode --attention-mma refuses an unknown mode, naming it and the modes", async () => {
  await assert.rejects(
    run(["--attention-mma", "fast"]),
    /--attention-mma "fast" is not a mode: use off, faster, always/,
  );
});
