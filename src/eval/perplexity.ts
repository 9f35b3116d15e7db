// Validation loss and perplexity: mean next-token cross-entropy over a fixed set of held-out
// batches (token-weighted, ignored targets excluded), and exp of it. Reads no gradients and
// changes no parameters.
import type { Model, TokenBatch } from "../model/model.js";

export interface EvalResult {
  loss: number;
  ppl: number;
  tokens: number;
}

/** Mean loss over `batches` (each a full (B, T) batch with targets). */
export async function evaluateLoss(model: Model, batches: Iterable<TokenBatch>): Promise<EvalResult> {
  let sum = 0;
  let tokens = 0;
  for (const b of batches) {
    const valid = b.targets ? b.targets.reduce((n, t) => n + (t === -1 ? 0 : 1), 0) : 0;
    if (valid === 0) continue;
    sum += (await model.forward(b)) * valid;
    tokens += valid;
  }
  const loss = tokens > 0 ? sum / tokens : Number.NaN;
  return { loss, ppl: Math.exp(loss), tokens };
}
