// Generation from a saved run (the library API behind `crosslayer generate`): a run folder and a
// checkpoint folder load to the same model and give greedy text equal to full-forward decoding;
// bad input fails with clear errors: empty prompt, prompt longer than the context, unknown token
// ids, invalid sampling values, and checkpoints whose files disagree.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { ByteTokenizer } from "../../src/data/tokenizers/byte-tokenizer.js";
import { ConfigError, FormatError } from "../../src/errors.js";
import { RequestError } from "../../src/infer/errors.js";
import { engineFromCheckpoint, loadForInference } from "../../src/infer/load.js";
import type { GenerationChunk } from "../../src/infer/types.js";
import { f32Bytes } from "../../src/io/safetensors.js";
import { writeTokenizerJson } from "../../src/io/tokenizer-json.js";
import type { ModelConfig } from "../../src/model/config-types.js";
import { Model } from "../../src/model/model.js";
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { tinyConfig } from "./model-configs.js";

let be: Backend;
let root: string;
const cfg: ModelConfig = {
  ...tinyConfig("gen-MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f16"),
  vocabSize: 260,
};

/** Writes a run folder (tokenizer.json + checkpoints/step-N) for `config`; returns its path. */
async function writeRun(name: string, config: ModelConfig, step = 7): Promise<string> {
  const run = join(root, name);
  const model = Model.create(be, config, { seed: 11 });
  const flat = await model.readParams();
  const params = model.paramTable().map((s) => ({
    name: s.name,
    dtype: "F32" as const,
    shape: [...s.shape],
    data: f32Bytes(Float32Array.from(flat.subarray(s.offset, s.offset + s.numel))),
  }));
  model.dispose();
  saveCheckpoint(join(run, "checkpoints"), {
    step,
    params,
    optimizer: [],
    state: { config, tokenizer: "tokenizer.json" },
  });
  writeTokenizerJson(join(run, "tokenizer.json"), new ByteTokenizer().toHfJson());
  return run;
}

before(async () => {
  be = await createBackend("cpu", { precision: "f32", threads: 1 });
  root = mkdtempSync(join(tmpdir(), "crosslayer-generate-"));
});
after(() => {
  be.dispose();
  rmSync(root, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<GenerationChunk>): Promise<GenerationChunk[]> {
  const out: GenerationChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

test("a run folder and its checkpoint folder generate greedy text equal to full-forward decoding", async () => {
  const run = await writeRun("ok", cfg);
  const tok = new ByteTokenizer();
  for (const path of [run, join(run, "checkpoints", "step-00000007")]) {
    const { engine, loaded } = engineFromCheckpoint(path, be);
    assert.equal(loaded.step, 7);
    assert.deepEqual(loaded.config, cfg);
    const chunks = await collect(engine.generate({ prompt: "hi there", maxTokens: 6, temperature: 0 }));
    const tokens = chunks.flatMap((c) => c.tokens);
    // Reference: greedy by full forward passes of the loaded weights.
    const seq = tok.encode("hi there");
    const want: number[] = [];
    for (let i = 0; i < 6 && !want.includes(tok.eotId!); i++) {
      const logits = await loaded.model.forwardLogits({
        ids: Int32Array.from(seq),
        batchSize: 1,
        seqLen: seq.length,
      });
      const row = [...logits.subarray((seq.length - 1) * cfg.vocabSize)];
      const next = row.indexOf(Math.max(...row));
      want.push(next);
      seq.push(next);
    }
    assert.deepEqual(tokens, want);
    assert.ok(["length", "stop"].includes(chunks.at(-1)!.finishReason!));
    engine.dispose();
    loaded.model.dispose();
  }
});

test("bad requests fail with RequestErrors naming the value and the fix", async () => {
  const run = await writeRun("req", cfg);
  const { engine, loaded } = engineFromCheckpoint(run, be);
  const bad = (req: Parameters<typeof engine.generate>[0], code: string, msg: RegExp) =>
    assert.throws(
      () => engine.generate(req),
      (e: unknown) => e instanceof RequestError && e.code === code && msg.test(e.message),
    );
  bad({ prompt: "" }, "empty-prompt", /the prompt is empty/);
  bad(
    { prompt: "x".repeat(cfg.maxSeqLen) },
    "prompt-too-long",
    /32 tokens but the context is 32: shorten it to at most 31/,
  );
  bad(
    { promptTokens: [1, 999] },
    "unknown-token",
    /promptTokens\[1\] = 999 is not a token id: the vocabulary is \[0, 260\)/,
  );
  bad({ prompt: "a", temperature: -1 }, "invalid-sampling", /temperature -1 is invalid/);
  bad({ prompt: "a", topP: 0 }, "invalid-sampling", /topP 0 is invalid: use a number in \(0, 1\]/);
  bad({ prompt: "a", topK: 1.5 }, "invalid-sampling", /topK 1.5 is invalid/);
  bad({ prompt: "a", seed: -3 }, "invalid-sampling", /seed -3 is invalid/);
  bad({ prompt: "a", maxTokens: 0 }, "invalid-request", /maxTokens 0 is invalid/);
  engine.dispose();
  loaded.model.dispose();
});

test("checkpoints whose files disagree are refused with FormatErrors", async () => {
  const ckpt = (run: string) => join(run, "checkpoints", "step-00000007");
  // state.json says another step than model.safetensors
  const a = await writeRun("step", cfg);
  const statePath = join(ckpt(a), "state.json");
  writeFileSync(statePath, readFileSync(statePath, "utf8").replace('"step": 7', '"step": 8'));
  assert.throws(() => loadForInference(a, be), /model.safetensors is from step 7 but state.json says step 8/);
  // the config in state.json does not describe the weights (more K/V heads)
  const b = await writeRun("shape", cfg);
  const s = JSON.parse(readFileSync(join(ckpt(b), "state.json"), "utf8"));
  s.config = { ...s.config, nKvHeads: 2 };
  writeFileSync(join(ckpt(b), "state.json"), JSON.stringify(s));
  assert.throws(
    () => loadForInference(b, be),
    (e: unknown) =>
      e instanceof FormatError && /wk.weight" has shape \[8,16\] but .* needs \[16,16\]/.test(e.message),
  );
  // a tokenizer larger than the model's vocabulary
  const c = await writeRun("vocab", { ...cfg, vocabSize: 100 });
  assert.throws(
    () => loadForInference(c, be),
    /the tokenizer has 257 tokens but the model's vocabSize is 100/,
  );
  // weights of a different model (a sharing layer's missing K/V projection)
  const d = await writeRun("cla", cfg);
  const sd = JSON.parse(readFileSync(join(ckpt(d), "state.json"), "utf8"));
  sd.config = { ...sd.config, kvSharing: { kind: "uniform", factor: 1 } };
  writeFileSync(join(ckpt(d), "state.json"), JSON.stringify(sd));
  assert.throws(() => loadForInference(d, be), /layers.1.wk.weight" is missing/);
  // not a folder / no checkpoint
  assert.throws(() => loadForInference(join(root, "nope"), be), ConfigError);
  assert.throws(() => loadForInference(root, be), /holds no checkpoint/);
});
