// Worker thread for encode-pool.ts: rebuilds the tokenizer from its spec (workerData), then answers
// each {seq, texts} with {seq, ids, lengths}: the texts' ids concatenated (each followed by the
// end-of-text id when the tokenizer has one) and the per-text token counts. Transfers buffers.
import { parentPort, workerData } from "node:worker_threads";
import { encodeDocuments } from "./encode-pool.js";
import { tokenizerFromSpec } from "./tokenizers/resolve.js";
import type { TokenizerSpec } from "./tokenizers/types.js";

const tokenizer = tokenizerFromSpec(workerData as TokenizerSpec);
parentPort!.on("message", (job: { seq: number; texts: string[] }) => {
  const r = encodeDocuments(tokenizer, job.texts);
  parentPort!.postMessage({ seq: job.seq, ...r }, [
    r.ids.buffer as ArrayBuffer,
    r.lengths.buffer as ArrayBuffer,
  ]);
});
