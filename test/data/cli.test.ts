// `crosslayer data` in-process through commander: flags reach buildShards (Brown category, byte
// tokenizer, val fraction, shard size) and the folder it writes reads back; --help teaches.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { registerData } from "../../src/cli/commands/data.js";
import { readManifest } from "../../src/data/manifest.js";

function program(): { cmd: Command; out: string[] } {
  const out: string[] = [];
  const cmd = new Command().exitOverride();
  cmd.configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  registerData(cmd);
  return { cmd, out };
}

test("crosslayer data: Brown humor with bytes into shards", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cl-cli-"));
  const write = process.stdout.write;
  const printed: string[] = [];
  process.stdout.write = ((s: string) => printed.push(s) > 0) as typeof process.stdout.write;
  try {
    const out = join(dir, "humor");
    const args = ["data", "--brown-categories", "humor", "-t", "bytes", "--val-fraction", "0.3"];
    await program().cmd.parseAsync([...args, "--shard-tokens", "50000", "--workers", "1", "--out", out], {
      from: "user",
    });
    const m = readManifest(out);
    assert.equal(m.tokenizer.kind, "bytes");
    assert.equal(m.sources[0]!.path, "brown:humor");
    assert.equal(m.sources[0]!.documents, 9);
    assert.equal(m.split.valFraction, 0.3);
    assert.ok(m.splits.train.shards.length >= 2);
    assert.equal(m.options.shardTokens, "50000");
    assert.match(printed.join(""), /train tokens .* tokenizer bytes \(vocab 257\), uint16/);
  } finally {
    process.stdout.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("crosslayer data --help shows examples", async () => {
  const { cmd, out } = program();
  await assert.rejects(cmd.parseAsync(["data", "--help"], { from: "user" }));
  const help = out.join("");
  assert.match(help, /crosslayer data --brown --tokenizer bpe --vocab 4096 --out data\/brown/);
  assert.match(help, /--include '\*\.md' --tokenizer gpt2/);
  assert.match(help, /corpus\.jsonl --tokenizer path\/to\/tokenizer\.json/);
});
