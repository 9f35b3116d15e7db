// `bench decode --engine`: decode through the whole engine (LocalEngine.generate: scheduler,
// sampling, streaming, run-ahead greedy steps) rather than bare CachedForward steps. B greedy
// requests with prompts of `context` random tokens start together; the engine prefills them in
// chunks while the first ones already decode. Timing starts once every request has its first
// token (all prefills done) and ends when every request has produced `steps` more, so the window
// is full-batch decode only; then the requests are cancelled. maxTokens leaves room for the
// tokens early requests generate while later ones prefill (engineExtraTokens).
import type { Backend } from "../backend/backend.js";
import { LocalEngine } from "../infer/engine.js";
import type { KvDType } from "../infer/kv-layout.js";
import { createRng } from "../infer/rng.js";
import type { Model } from "../model/model.js";

/** What identifies a decode benchmark row (step rows and engine rows alike). */
export interface DecodeRowBase {
  backend: string;
  device: string;
  config: string;
  batch: number;
  context: number;
  kvDtype: KvDType;
}

export interface EngineDecodeRow extends DecodeRowBase {
  bench: "engine-decode";
  /** Decode tokens counted (after the last first token), over all requests. */
  tokens: number;
  /** Wall time per decode step (B tokens), ms. */
  stepMs: number;
  tokensPerSecond: number;
  /** Steps the engine submitted ahead of the previous step's read, per decode step. */
  chainedPerStep: number;
  /** Wall time until every request had its first token (prefill included), seconds. */
  prefillSeconds: number;
  /**
   * Mean tokens per sequence when timing starts. Above `context`: the requests that finished their
   * prefill first decoded while the others prefilled (at batch 128, context 4096 the sequences
   * then hold 4096..5265 tokens, mean ~4708), so a timed step reads more K/V than a chained step
   * at `context` does; compare the two at equal keys.
   */
  meanContext: number;
}

/** Tokens an early request may generate while the others prefill (one per engine step). */
export function engineExtraTokens(batch: number, context: number, maxBatchTokens: number): number {
  // running requests' decode tokens take part of every step's token budget
  return Math.ceil((batch * context) / Math.max(1, maxBatchTokens - batch)) + batch + 2;
}

/** Tokens per engine step in this bench: room for a prefill chunk beside B decode tokens. */
export function engineMaxBatchTokens(batch: number): number {
  return Math.max(512, 2 * batch);
}

export async function engineDecodeRow(
  be: Backend,
  model: Model,
  o: {
    batch: number;
    context: number;
    steps: number;
    kvDtype: KvDType;
    blockSize: number;
    /** Greedy steps in flight beyond the one being read (LocalEngineOptions.runAhead). */
    runAhead?: number;
  },
): Promise<EngineDecodeRow> {
  const { batch: B, context: S, steps, blockSize } = o;
  const maxBatchTokens = engineMaxBatchTokens(B);
  const maxTokens = steps + 1 + engineExtraTokens(B, S, maxBatchTokens);
  const total = S + maxTokens;
  const eng = new LocalEngine({
    model,
    blockSize,
    kvDtype: o.kvDtype,
    maxRunning: B,
    maxBatchTokens,
    maxContext: total,
    kvBlocks: B * Math.ceil(total / blockSize),
    ...(o.runAhead === undefined ? {} : { runAhead: o.runAhead }),
  });
  try {
    const rng = createRng(12345);
    const rand = () => rng.nextU32() % model.config.vocabSize;
    const stop = new AbortController();
    const t0 = performance.now();
    let started = 0;
    let start = 0;
    let done = 0;
    let end = 0;
    let chained0 = 0;
    let chained1 = 0;
    let meanContext = 0;
    await Promise.all(
      Array.from({ length: B }, async (_, b) => {
        const promptTokens = Array.from({ length: S }, rand);
        let seen = false;
        let counted = 0; // tokens after start
        const req = { id: `r${b}`, promptTokens, maxTokens, temperature: 0, signal: stop.signal };
        for await (const c of eng.generate(req)) {
          if (c.finishReason !== null && c.finishReason !== "cancelled") {
            throw new Error(`engine bench: request r${b} ended early (${c.finishReason}): raise maxTokens`);
          }
          for (let i = 0; i < c.tokens.length; i++) {
            if (!seen) {
              seen = true;
              if (++started === B) {
                start = performance.now();
                chained0 = eng.stats().chainedSteps;
                for (let r = 0; r < B; r++) meanContext += eng.cache.length(`r${r}`) / B;
              }
            } else if (start > 0 && counted < steps && ++counted === steps && ++done === B) {
              end = performance.now();
              chained1 = eng.stats().chainedSteps;
              stop.abort();
            }
          }
        }
      }),
    );
    const tokens = B * steps;
    const stepMs = (end - start) / steps;
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
      chainedPerStep: (chained1 - chained0) / steps,
      prefillSeconds: (start - t0) / 1e3,
      meanContext,
    };
  } finally {
    eng.dispose();
  }
}
