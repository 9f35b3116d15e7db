// The `inspect` and `plan` commands in-process: their --json output carries the documented keys and
// agrees with the library functions; bad flags end in a ConfigError naming the flag.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { registerInspect } from "../../src/cli/commands/inspect.js";
import { registerPlan } from "../../src/cli/commands/plan.js";
import { ConfigError } from "../../src/errors.js";

async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerInspect(program);
  registerPlan(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => chunks.push(String(s)) > 0) as typeof process.stdout.write;
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  return chunks.join("");
}

test("inspect --json: params, kvLayers, kvBytesPerToken16 (paper values)", async () => {
  const a = JSON.parse(await run(["inspect", "H128-MQA-CLA2-KeepEnds", "--json"]));
  assert.deepEqual(a.kvLayers, [0, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  assert.equal(a.kvBytesPerToken16, 5632);
  assert.equal(typeof a.params, "number");
  const b = JSON.parse(await run(["inspect", "h128-mha", "--json", "--context", "1k"]));
  assert.equal(b.kvBytesPerToken16, 163840);
  assert.equal(b.context, 1024);
  assert.equal(b.params - a.params > 0, true);
  const list = (await run(["inspect", "--list", "--json"]))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(list.some((p) => p.name === "small-H64-MQA-CLA2" && p.kvLayers === 4));
  assert.match(
    await run(["inspect", "tiny-H16-MQA-CLA2-DenseFront"]),
    /layer map {2}0 \| 1 \| 2-4 <- 2 \| 5/,
  );
});

test("plan --json: one object per config per line; MQA-CLA2 holds at least twice MQA's", async () => {
  const out = await run([
    "plan",
    "H128-MQA",
    "H128-MQA-CLA2",
    "--memory",
    "16GiB",
    "--context",
    "4096",
    "--json",
  ]);
  const [mqa, cla] = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(mqa.name, "H128-MQA");
  assert.equal(cla.kvBytesPerToken, 5120);
  assert.ok(cla.maxSequences >= 2 * mqa.maxSequences && cla.maxSequences <= 2 * mqa.maxSequences + 2);
  const f32 = JSON.parse(await run(["plan", "H128-MQA", "--memory", "16GiB", "--kv-dtype", "f32", "--json"]));
  assert.equal(f32.kvBytesPerToken, 20480);
  assert.equal(f32.context, 2048);
  const r = JSON.parse(await run(["plan", "tiny-H16-MQA", "--memory", "1GB", "--reserve", "10%", "--json"]));
  assert.equal(r.reserveBytes, 100_000_000);
});

test("plan: bad sizes and dtypes are ConfigErrors naming the flag", async () => {
  await assert.rejects(
    run(["plan", "H128-MQA", "--memory", "16G"]),
    (e) => e instanceof ConfigError && /--memory/.test(e.message),
  );
  await assert.rejects(
    run(["plan", "H128-MQA", "--memory", "1GiB", "--kv-dtype", "int8"]),
    /--kv-dtype "int8"/,
  );
  await assert.rejects(run(["plan", "H128-MQA", "--memory", "1GiB", "--context", "-3"]), /--context "-3"/);
});
