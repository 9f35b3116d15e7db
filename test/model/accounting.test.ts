// Tests for the accounting: every row of the paper's 1B table (test/fixtures/cla-1b-table1.csv)
// reproduced exactly from our presets, parameter counts against hand-derived values, the
// MHA vs MQA-CLA2 difference, FLOPs against a hand count, and KV bytes at each storage dtype.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  accountModel,
  countParams,
  forwardFlopsPerToken,
  kvBytesPerToken,
  kvBytesPerToken16,
  trainFlopsPerToken,
} from "../../src/model/accounting.js";
import { loadModelConfig, parseModelConfig } from "../../src/model/config.js";
import { kvLayers } from "../../src/model/sharing.js";

// Next to this file when run from source (tsx); from dist/test/model, two levels further up; else cwd.
const candidates = [
  new URL("../fixtures/cla-1b-table1.csv", import.meta.url),
  new URL("../../../test/fixtures/cla-1b-table1.csv", import.meta.url),
  join(process.cwd(), "test/fixtures/cla-1b-table1.csv"),
];

function readTable(): Record<string, string>[] {
  const found = candidates.find((c) => existsSync(c));
  assert.ok(found, "test/fixtures/cla-1b-table1.csv not found");
  const text = readFileSync(found, "utf8");
  const [head, ...rows] = text.trim().split("\n");
  const cols = head!.split(",");
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [cols[i]!, v])));
}

test("all 20 rows of the paper's 1B table: heads, head dim, KV layers, KV bytes/token at 16 bits", () => {
  const rows = readTable();
  assert.equal(rows.length, 20);
  for (const r of rows) {
    const cfg = loadModelConfig(r.model!);
    assert.equal(cfg.name, r.model);
    assert.equal(cfg.headDim, Number(r.d_head), `${r.model} d_head`);
    assert.equal(cfg.nHeads, Number(r.query_heads), `${r.model} query_heads`);
    assert.equal(cfg.nKvHeads, Number(r.kv_heads), `${r.model} kv_heads`);
    assert.equal(kvLayers(cfg).length, Number(r.kv_layers), `${r.model} kv_layers`);
    assert.equal(kvBytesPerToken16(cfg), Number(r.kv_bytes_per_token_16bit), `${r.model} kv bytes`);
    assert.equal(cfg.dModel, 2048);
    assert.equal(cfg.ffnDim, 5472);
    assert.equal(cfg.nLayers, 20);
  }
});

test("1B parameter counts match hand-derived values; MHA vs MQA-CLA2 differ by the K/V projections", () => {
  // H128-MHA: emb + unemb 2 x 50304 x 2048; per layer Q,K,V,O 4 x 2048^2, SwiGLU 3 x 2048 x 5472,
  // norms 3 x 2048 (Q/input, K/V, FFN); final norm 2048.
  const mha = countParams(loadModelConfig("H128-MHA"));
  assert.equal(mha.embedding, 103_022_592);
  assert.equal(mha.total, 2 * 103_022_592 + 20 * (4 * 4_194_304 + 33_619_968 + 3 * 2048) + 2048);
  assert.equal(mha.total, 1_214_113_792);
  const mqaCla2 = countParams(loadModelConfig("H128-MQA-CLA2"));
  // MQA-CLA2 keeps K/V (2 x 2048 x 128) and a K/V norm (2048) in 10 producer layers only.
  assert.equal(mha.total - mqaCla2.total, 20 * (2 * 4_194_304 + 2048) - 10 * (2 * 262_144 + 2048));
  assert.equal(mha.total - mqaCla2.total, 162_549_760);
  const mqa = countParams(loadModelConfig("H128-MQA"));
  const saved = (mqa.total - mqaCla2.total) / mqa.total;
  assert.equal(mqa.total - mqaCla2.total, 10 * (2 * 262_144 + 2048));
  assert.ok(saved > 0.004 && saved < 0.006, `CLA2 saves ~0.5% of parameters at 1B, got ${saved}`);
  const tied = countParams(parseModelConfig({ ...loadModelConfig("H128-MHA"), tiedEmbeddings: true }));
  assert.equal(mha.total - tied.total, 103_022_592);
  assert.equal(tied.unembedding, 0);
});

test("FLOPs per token: hand count for a small config; attention grows with context; train = 3x", () => {
  const cfg = parseModelConfig({
    vocabSize: 10,
    dModel: 8,
    nLayers: 2,
    nHeads: 2,
    nKvHeads: 1,
    headDim: 4,
    ffnDim: 12,
    kvSharing: 2,
  });
  // MACs: 2 layers x (Q 8x8 + O 8x8 + SwiGLU 3x8x12) + 1 producer x K,V 2x8x4 + unembedding 10x8.
  const macs = 2 * (64 + 64 + 288) + 64 + 80;
  const f = forwardFlopsPerToken(cfg, 5);
  assert.equal(f.matmul, 2 * macs);
  assert.equal(f.attention, 2 * 4 * 2 * 4 * 5); // L x 4 x H x D x context
  assert.equal(f.forward, f.matmul + f.attention);
  assert.equal(trainFlopsPerToken(cfg, 9), 3 * forwardFlopsPerToken(cfg, 5).forward);
  // At 1B the forward matmul FLOPs are ~2 x non-embedding params + the unembedding.
  const big = loadModelConfig("H128-MQA");
  const p = countParams(big);
  const rel = forwardFlopsPerToken(big, 0).matmul / (2 * (p.nonEmbedding + p.embedding));
  assert.ok(Math.abs(rel - 1) < 1e-3, `matmul FLOPs ~ 2 x params, ratio ${rel}`);
});

test("KV bytes per token at each storage dtype; accountModel bundles it", () => {
  const cfg = loadModelConfig("H128-MQA-CLA2");
  assert.equal(kvBytesPerToken(cfg, "f32"), 10240);
  assert.equal(kvBytesPerToken(cfg, "bf16"), 5120);
  assert.equal(kvBytesPerToken(cfg, "f16"), 5120);
  const a = accountModel({ ...cfg, kvDtype: "f32" }, { context: 1000 });
  assert.equal(a.kvBytesPerToken16, 5120);
  assert.equal(a.kvBytesPerToken, 10240);
  assert.equal(a.kvBytesPerSequence, 10_240_000);
  assert.deepEqual(a.kvLayers, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  assert.equal(a.producerMap.length, 20);
  assert.equal(a.params, countParams(cfg).total);
});
