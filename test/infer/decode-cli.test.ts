// `crosslayer bench decode` in-process through commander: --engine --run-ahead N reaches the engine
// (steps chained ahead of the read only when N > 0) and a bad value is refused by name; --pipeline
// rows carry the host's split of each step (recording, submit, waiting for the step before) and
// it adds up to the step time.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
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

test("bench decode --run-ahead: 0 chains nothing, 2 chains steps ahead of the read (webgpu)", async (t) => {
  if (!(await testBackends()).some((b) => b.name === "webgpu")) return t.skip("webgpu unavailable");
  const dir = mkdtempSync(join(tmpdir(), "cl-decode-cli-"));
  try {
    const file = join(dir, "tiny.json");
    const cfg = {
      ...tinyConfig("tiny", 1, { kind: "uniform", factor: 2 }, "f16"),
      nLayers: 2,
      maxSeqLen: 64,
    };
    writeFileSync(file, JSON.stringify(cfg));
    const chained: number[] = [];
    for (const ra of ["0", "2"]) {
      const base = ["--backend", "webgpu", "--configs", file, "--batches", "2", "--contexts", "8"];
      const lines = await run([...base, "--steps", "4", "--engine", "--run-ahead", ra, "--json"]);
      const row = lines.map((l) => JSON.parse(l)).find((r) => r.bench === "engine-decode");
      assert.ok(row, `an engine-decode row for --run-ahead ${ra}`);
      chained.push(row.chainedPerStep);
    }
    assert.equal(chained[0], 0);
    assert.ok(chained[1]! > 0, `run-ahead 2 chained ${chained[1]} steps per step`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench decode --pipeline: the host's time per step split into record / after / wait (webgpu)", async (t) => {
  if (!(await testBackends()).some((b) => b.name === "webgpu")) return t.skip("webgpu unavailable");
  const dir = mkdtempSync(join(tmpdir(), "cl-decode-cli-"));
  try {
    const file = join(dir, "tiny.json");
    const cfg = {
      ...tinyConfig("tiny", 1, { kind: "uniform", factor: 1 }, "f16"),
      nLayers: 2,
      maxSeqLen: 64,
    };
    writeFileSync(file, JSON.stringify(cfg));
    const base = ["--backend", "webgpu", "--configs", file, "--batches", "2", "--contexts", "8"];
    const lines = await run([...base, "--steps", "6", "--pipeline", "--json"]);
    const row = lines.map((l) => JSON.parse(l)).find((r) => r.bench === "decode");
    assert.ok(row?.pipelined, "a pipelined decode row");
    const parts = [row.recordMs, row.hostAfterMs, row.gpuWaitMs] as number[];
    assert.ok(
      parts.every((x) => Number.isFinite(x) && x >= 0),
      `split ${parts}`,
    );
    assert.ok(row.recordMs > 0, "recording takes time");
    const sum = parts.reduce((a, b) => a + b, 0);
    // the split covers each step but the first: within a quarter of the step time
    assert.ok(Math.abs(sum - row.stepMs) <= 0.25 * row.stepMs, `split sums to ${sum}, step ${row.stepMs} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench decode --run-ahead refuses a value outside 0..8, naming it", async () => {
  await assert.rejects(
    run(["--run-ahead", "-1", "--engine"]),
    /--run-ahead "-1" must be an integer from 0 to 8/,
  );
});
