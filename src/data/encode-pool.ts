// Encodes batches of documents on worker threads (or inline when workers <= 1) and hands results
// back in submission order, so the output never depends on thread timing. Each document's ids are
// followed by the tokenizer's end-of-text id when it has one.
import { Worker } from "node:worker_threads";
import type { TextTokenizer } from "./tokenizers/types.js";

export interface EncodedBatch {
  /** All ids of the batch, document after document (each followed by EOT when there is one). */
  ids: Uint32Array;
  /** Tokens per document, EOT included. */
  lengths: Uint32Array;
}

export function encodeDocuments(tokenizer: TextTokenizer, texts: readonly string[]): EncodedBatch {
  const parts = texts.map((t) => tokenizer.encode(t));
  const eot = tokenizer.eotId;
  const extra = eot === null ? 0 : 1;
  const lengths = Uint32Array.from(parts, (p) => p.length + extra);
  const ids = new Uint32Array(lengths.reduce((s, n) => s + n, 0));
  let off = 0;
  for (const p of parts) {
    ids.set(p, off);
    off += p.length;
    if (eot !== null) ids[off++] = eot;
  }
  return { ids, lengths };
}

/** Encodes batches; `submit` resolves results in submission order. Call close() when done. */
export class EncodePool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<
    number,
    { resolve: (r: EncodedBatch) => void; reject: (e: Error) => void }
  >();
  private nextSeq = 0;
  private failure: Error | null = null;
  private closing = false;

  constructor(
    private readonly tokenizer: TextTokenizer,
    readonly size: number,
  ) {
    if (size <= 1) return;
    for (let i = 0; i < size; i++) {
      const w = spawnWorker(tokenizer.spec());
      w.on("message", (m: { seq: number } & EncodedBatch) => {
        const done = this.waiting.get(m.seq);
        this.waiting.delete(m.seq);
        done?.resolve({ ids: m.ids, lengths: m.lengths });
      });
      w.on("error", (e: Error) => this.fail(e));
      w.on("exit", (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`an encoding worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  submit(texts: string[]): Promise<EncodedBatch> {
    if (this.workers.length === 0) return Promise.resolve(encodeDocuments(this.tokenizer, texts));
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    const worker = this.workers[seq % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      worker.postMessage({ seq, texts });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** From dist/ the worker is the compiled .js; from src/ under tsx it is the .ts, loaded via tsx's API. */
function spawnWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./encode-worker.js", import.meta.url), { workerData });
  const api = import.meta.resolve("tsx/esm/api");
  const target = new URL("./encode-worker.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(code, { eval: true, workerData });
}
