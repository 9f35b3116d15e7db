// `crosslayer bench decode --engine --run-ahead N` in-process through commander: the flag reaches
// the engine (steps chained ahead of the read only when N > 0) and a bad value is refused by name.
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
  process.stdout.write = ((s: string) => printed.push(s) > 0) as typeof process.stdout.write;
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

test("bench decode --run-ahead refuses a value outside 0..8, naming it", async () => {
  await assert.rejects(
    run(["--run-ahead", "-1", "--engine"]),
    /--run-ahead "-1" must be an integer from 0 to 8/,
  );
});
