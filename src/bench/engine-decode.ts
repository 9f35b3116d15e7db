// `bench decode --engine`: decode through the whole engine (LocalEngine.generate: scheduler,
// sampling, streaming, run-ahead greedy steps) rather than bare CachedForward steps. B greedy
// requests with prompts of `context` random tokens each generate `steps` + 1 tokens; the decode
// rate is measured from the moment every request has its first token (all prefills done) to the
// last token, so prefill is excluded.
import type { Backend } from "../backend/backend.js";
import { LocalEngine } from "../infer/engine.js";
import type { KvDType } from "../infer/kv-layout.js";
import type { Model } from "../model/model.js";

export interface EngineDecodeRow {
  bench: "engine-decode";
  backend: string;
  device: string;
  config: string;
  batch: number;
  context: number;
  kvDtype: KvDType;
  /** Decode tokens counted (after the last first token), over all requests. */
  tokens: number;
  /** Wall time per decode step (B tokens), ms. */
  stepMs: number;
  tokensPerSecond: number;
  /** Steps the engine submitted ahead of the previous step's read, per decode step. */
  chainedPerStep: number;
  /** Wall time until every request had its first token (prefill included), seconds. */
  prefillSeconds: number;
}

export async function engineDecodeRow(
  be: Backend,
  model: Model,
  o: { batch: number; context: number; steps: number; kvDtype: KvDType; blockSize: number },
): Promise<EngineDecodeRow> {
  const { batch: B, context: S, steps, blockSize } = o;
  const total = S + steps + 1;
  const eng = new LocalEngine({
    model,
    blockSize,
    kvDtype: o.kvDtype,
    maxRunning: B,
    maxBatchTokens: Math.max(512, B),
    maxContext: total,
    kvBlocks: B * Math.ceil(total / blockSize),
  });
  try {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % model.config.vocabSize;
    };
    const t0 = performance.now();
    const chained0 = eng.stats().chainedSteps;
    const times = await Promise.all(
      Array.from({ length: B }, async (_, b) => {
        const at: number[] = [];
        const promptTokens = Array.from({ length: S }, rand);
        for await (const c of eng.generate({
          id: `r${b}`,
          promptTokens,
          maxTokens: steps + 1,
          temperature: 0,
        })) {
          for (let i = 0; i < c.tokens.length; i++) at.push(performance.now());
        }
        return at;
      }),
    );
    const start = Math.max(...times.map((t) => t[0]!));
    const end = Math.max(...times.map((t) => t[t.length - 1]!));
    const tokens = times.reduce((n, t) => n + t.filter((x) => x > start).length, 0);
    const decodeSteps = tokens / B;
    const stepMs = (end - start) / Math.max(1, decodeSteps);
    return {
      bench: "engine-decode",
      backend: be.name,
      device: be.info().device,
      config: model.config.name,
      batch: B,
      context: S,
      kvDtype: o.kvDtype,
      tokens,
      stepMs,
      tokensPerSecond: (tokens * 1e3) / Math.max(1e-9, end - start),
      chainedPerStep: (eng.stats().chainedSteps - chained0) / Math.max(1, decodeSteps),
      prefillSeconds: (start - t0) / 1e3,
    };
  } finally {
    eng.dispose();
  }
}
