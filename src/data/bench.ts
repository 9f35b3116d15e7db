// Data-layer benchmark (not a test): BPE training time on Brown, and single-thread encode
// throughput of each tokenizer on Brown and, optionally, on a folder of code/docs. Prints a table
// and one JSON object per line. Run: `npx tsx src/data/bench.ts [folder] [maxMiB]`.
import { availableParallelism, cpus } from "node:os";
import { readCorpus } from "./corpus.js";
import { EncodePool } from "./encode-pool.js";
import { PieceCounter, trainBpe } from "./tokenizers/bpe-train.js";
import { loadGpt2Tokenizer } from "./tokenizers/gpt2.js";
import type { TextTokenizer } from "./tokenizers/types.js";

interface Row {
  bench: string;
  corpus: string;
  mb: number;
  seconds: number;
  tokens?: number;
  mbPerS?: number;
  mtokPerS?: number;
}

async function texts(src: Parameters<typeof readCorpus>[0]): Promise<string[]> {
  const out: string[] = [];
  for await (const d of readCorpus(src)) out.push(d.text);
  return out;
}

const mb = (ts: string[]) => ts.reduce((s, t) => s + Buffer.byteLength(t), 0) / 1e6;

async function encodeRow(name: string, corpus: string, tok: TextTokenizer, ts: string[], workers: number) {
  const pool = new EncodePool(tok, workers);
  const batches: string[][] = [];
  for (let i = 0; i < ts.length; i += 64) batches.push(ts.slice(i, i + 64));
  const t0 = performance.now();
  const results = await Promise.all(batches.map((b) => pool.submit(b)));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  const tokens = results.reduce((s, r) => s + r.ids.length, 0);
  const size = mb(ts);
  return {
    bench: `encode ${name} x${workers}`,
    corpus,
    mb: size,
    seconds,
    tokens,
    mbPerS: size / seconds,
    mtokPerS: tokens / seconds / 1e6,
  };
}

const rows: Row[] = [];
const brown = await texts({ kind: "brown" });
const t0 = performance.now();
const counter = new PieceCounter();
for (const t of brown) counter.add(t);
const { tokenizer: bpe } = trainBpe({ counts: counter.counts, vocabSize: 8192 });
rows.push({
  bench: "train bpe 8192",
  corpus: "brown",
  mb: mb(brown),
  seconds: (performance.now() - t0) / 1000,
});
const gpt2 = loadGpt2Tokenizer();
const workers = availableParallelism();
for (const [name, tok] of [
  ["bpe8192", bpe],
  ["gpt2", gpt2],
] as const) {
  rows.push(await encodeRow(name, "brown", tok, brown, 1));
}
const folder = process.argv[2];
if (folder) {
  const cap = Number(process.argv[3] ?? 100) * 2 ** 20;
  const code = await texts({
    kind: "folder",
    path: folder,
    include: ["*.py", "*.md", "*.rst", "*.h"],
    maxBytes: cap,
  });
  rows.push(await encodeRow("gpt2", folder, gpt2, code, 1));
  if (workers > 1) rows.push(await encodeRow("gpt2", folder, gpt2, code, workers));
}
const machine = `${cpus()[0]?.model ?? "cpu"} x${availableParallelism()}`;
console.log(`machine: ${machine}`);
console.log("bench                  corpus            MB      s   Mtok/s    MB/s");
for (const r of rows) {
  console.log(
    `${r.bench.padEnd(22)} ${r.corpus.slice(-16).padEnd(16)} ${r.mb.toFixed(1).padStart(6)} ${r.seconds.toFixed(2).padStart(6)} ` +
      `${(r.mtokPerS?.toFixed(2) ?? "-").padStart(8)} ${(r.mbPerS?.toFixed(1) ?? "-").padStart(7)}`,
  );
}
for (const r of rows) console.log(JSON.stringify({ ...r, machine }));
